# Perl's Email::Sender with its Sendmail transport. Usage: perl email-sender.pl SENDMAIL FROM TO
use strict;
use warnings;
use Email::Sender::Simple qw(sendmail);
use Email::Sender::Transport::Sendmail;
use Email::Simple;
use Email::Simple::Creator;

my ($path, $from, $to) = @ARGV;
my $email = Email::Simple->create(
	header => [ From => $from, To => $to, Subject => 'from Email::Sender' ],
	body   => "Hello from Email::Sender.\n",
);
sendmail($email, { transport => Email::Sender::Transport::Sendmail->new({ sendmail => $path }) });
print "sent\n";
