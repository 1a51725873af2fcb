import { describe, expect, it } from 'vitest';
import { accountMailTemplates } from './account-mail.templates.ts';

describe('account mail templates', () => {
  const site = 'Taw Ashton Growers';
  const all = {
    verifyEmail: accountMailTemplates.verifyEmail({ site, name: 'Ann', url: 'https://taw.example/auth/verify?token=abc' }),
    signupExisting: accountMailTemplates.signupExisting({ site, loginUrl: 'https://taw.example/auth/login', resetUrl: 'https://taw.example/auth/reset' }),
    signupUnconfirmed: accountMailTemplates.signupUnconfirmed({ site, resetUrl: 'https://taw.example/auth/reset' }),
    resetPassword: accountMailTemplates.resetPassword({ site, url: 'https://taw.example/auth/reset/confirm?token=abc' }),
    changeEmailConfirm: accountMailTemplates.changeEmailConfirm({ site, url: 'https://taw.example/auth/email-change?token=abc' }),
    changeEmailNotice: accountMailTemplates.changeEmailNotice({ site, newEmail: 'ann.new@example.org', resetUrl: 'https://taw.example/auth/reset' }),
    changeEmailTaken: accountMailTemplates.changeEmailTaken({ site }),
  };

  it('name the site in every subject, greeting and signature, as text and as HTML', () => {
    for (const [name, mail] of Object.entries(all)) {
      expect(mail.subject, name).toContain(site);
      expect(mail.text.split('\n')[0], name).toContain(site);
      expect(mail.text, name).toMatch(/\n-- \nTaw Ashton Growers\n$/);
      expect(mail.html, name).toContain(`<title>${site}</title>`);
    }
  });

  it('put each link in the text and the HTML', () => {
    expect(all.verifyEmail.text).toContain('Confirm your address:\nhttps://taw.example/auth/verify?token=abc\n');
    expect(all.verifyEmail.html).toContain('href="https://taw.example/auth/verify?token=abc"');
    expect(all.signupExisting.text).toContain('https://taw.example/auth/login');
    expect(all.signupExisting.html).toContain('href="https://taw.example/auth/reset"');
    expect(all.resetPassword.html).toContain('href="https://taw.example/auth/reset/confirm?token=abc"');
    expect(all.changeEmailNotice.text).toContain('ann.new@example.org');
  });

  it('escape a display name or a site name in the HTML', () => {
    const mail = accountMailTemplates.verifyEmail({ site: 'Growers <Co-op>', name: '<script>alert(1)</script>', url: 'https://taw.example/auth/verify?token=abc' });
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('Welcome to Growers &lt;Co-op&gt;, &lt;script&gt;alert(1)&lt;/script&gt;!');
    expect(mail.text).toContain('Welcome to Growers <Co-op>, <script>alert(1)</script>!');
  });
});
