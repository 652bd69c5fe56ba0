import nodemailer, { type SendMailOptions } from 'nodemailer';

/** Sends one message to a sink on loopback with nodemailer, as an app would (plain SMTP). */
export async function send(port: number, mail: SendMailOptions): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail(mail);
  } finally {
    transport.close();
  }
}
