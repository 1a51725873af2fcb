export { hashPassword, verifyPassword, passwordProblem, defaultPasswordCost, type PasswordCost } from './password.ts';
export { createSessions, generateSessionToken, sessionIdOf, type Sessions, type SessionUser, type ValidSession } from './session.service.ts';
export { createRateLimit, type RateLimit } from './rate-limit.ts';
export { createMailer, type Mailer, type Mail } from './mailer.ts';
export { createAccounts, normaliseEmail, type Accounts, type SignupError, type LoginError, type VerifyError, type ResetError, type ChangePasswordError } from './accounts.service.ts';
