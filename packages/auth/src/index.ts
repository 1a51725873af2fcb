export { createSessions, generateSessionToken, type Sessions, type SessionUser, type ValidSession } from './session.service.ts';
export { createAccountMailHandlers } from './account-mail.ts';
export { createAccounts, type Accounts } from './accounts.service.ts';
