// nodemailer with its sendmail transport, with its default arguments (-i -f FROM -- TO); the
// configuration comes from POSTBOTE_CONFIG. Usage: node nodemailer.js SENDMAIL FROM TO
const nodemailer = require('nodemailer');

const [sendmail, from, to] = process.argv.slice(2);
const transport = nodemailer.createTransport({ sendmail: true, path: sendmail });
transport.sendMail({ from, to, subject: 'from nodemailer', text: 'Hello from nodemailer.\n' })
	.then(() => console.log('sent'))
	.catch((err) => { console.error(err.message); process.exit(1); });
