<?php
// Symfony Mailer with its sendmail transport, as a PHP application uses it: one transport, N
// messages (in -bs mode over one session). Usage: php symfony-mailer.php COMMAND N FROM TO
require '/usr/share/php/Symfony/Component/Mailer/autoload.php';

use Symfony\Component\Mailer\Mailer;
use Symfony\Component\Mailer\Transport\SendmailTransport;
use Symfony\Component\Mime\Email;

[$self, $command, $n, $from, $to] = $argv;
$mailer = new Mailer(new SendmailTransport($command));
for ($i = 1; $i <= (int) $n; $i++) {
    $mailer->send((new Email())
        ->from($from)
        ->to($to)
        ->subject("symfony $i")
        ->text("message $i from Symfony Mailer"));
}
echo "sent $n\n";
