<?php
// PHPMailer with its sendmail transport (isSendmail), as a PHP application uses it.
// Usage: php phpmailer.php SENDMAIL_PATH FROM TO
require '/usr/share/php/libphp-phpmailer/autoload.php';

use PHPMailer\PHPMailer\PHPMailer;

[$self, $path, $from, $to] = $argv;
$m = new PHPMailer(true);
$m->isSendmail();
$m->Sendmail = $path;
$m->setFrom($from, 'PHPMailer App');
$m->addAddress($to);
$m->Subject = 'from PHPMailer';
$m->Body = "Hello from PHPMailer.\n";
$m->send();
echo "sent\n";
