# /etc/cron.d/postbote: root's postbote queue run, every minute, which sends what is due and
# what local users dropped; only where systemd does not run it (postbote-queue.timer and
# postbote-drop.path), and only once /etc/postbote.conf exists. It prints nothing when there is
# nothing to say, so cron sends no mail about it.
* * * * *	root	[ ! -d /run/systemd/system ] && [ -e /etc/postbote.conf ] && /usr/bin/postbote -q5m
