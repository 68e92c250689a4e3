# Ruby's mail gem with its sendmail delivery method. Usage: ruby ruby-mail.rb SENDMAIL CONF FROM TO
require 'mail'

sendmail, conf, from, to = ARGV
mail = Mail.new do
  from    from
  to      to
  subject 'from ruby-mail'
  body    "Hello from Ruby's mail gem.\n"
end
mail.delivery_method :sendmail, location: sendmail, arguments: "-C #{conf} -i"
mail.deliver!
puts 'sent'
