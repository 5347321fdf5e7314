import type { OutgoingMail } from './outbox.ts';

/**
 * The platform's mails: a text part with exactly one link (which carries the token in its fragment,
 * so it never reaches a server log or a Referer header), and the same in HTML.
 */
export class MailTemplates {
  readonly #webUrl: string;

  constructor(publicWebUrl: string) {
    this.#webUrl = publicWebUrl;
  }

  invitation(input: {
    to: string;
    orgName: string;
    inviterName: string;
    token: string;
    expiresAt: Date;
  }): OutgoingMail {
    const link = this.#link('accept-invitation', input.token);
    return this.#compose(
      'invitation',
      input.to,
      `You are invited to ${input.orgName} on GroupChat`,
      [
        `${input.inviterName} invited you to join ${input.orgName} on GroupChat.`,
        'Choose your name and password here:',
      ],
      link,
      `The invitation expires on ${input.expiresAt.toUTCString()}.`,
    );
  }

  emailVerification(input: { to: string; displayName: string; token: string }): OutgoingMail {
    const link = this.#link('verify-email', input.token);
    return this.#compose(
      'email_verify',
      input.to,
      'Confirm your email address',
      [`Hello ${input.displayName},`, 'please confirm that this is your email address:'],
      link,
      'If you did not create a GroupChat account, ignore this mail.',
    );
  }

  passwordReset(input: { to: string; token: string }): OutgoingMail {
    const link = this.#link('reset-password', input.token);
    return this.#compose(
      'password_reset',
      input.to,
      'Reset your GroupChat password',
      [
        'Someone (hopefully you) asked to reset the password of this GroupChat account.',
        'Choose a new password here:',
      ],
      link,
      'The link works once, for one hour. If you did not ask for it, ignore this mail: your password stays as it is.',
    );
  }

  #link(route: string, token: string): string {
    return `${this.#webUrl}/#/${route}?token=${encodeURIComponent(token)}`;
  }

  #compose(
    kind: string,
    to: string,
    subject: string,
    lines: string[],
    link: string,
    footer: string,
  ): OutgoingMail {
    const text = `${lines.join('\n')}\n\n${link}\n\n${footer}\n`;
    const html =
      `<!doctype html><html><body style="font-family:sans-serif">` +
      lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('') +
      `<p><a href="${escapeHtml(link)}">${escapeHtml(subject)}</a></p>` +
      `<p style="color:#666">${escapeHtml(footer)}</p></body></html>`;
    return { kind, to, subject, text, html };
  }
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
