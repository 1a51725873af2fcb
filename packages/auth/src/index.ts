export { hashPassword, verifyPassword, passwordProblem, isCommonPassword, defaultPasswordCost, type PasswordCost } from './password.ts';
export { createSessions, generateSessionToken, sessionIdOf, type Sessions, type SessionUser, type ValidSession } from './session.service.ts';
export { createRateLimit, createLoginThrottle, defaultLoginThrottle, type RateLimit, type LoginThrottle, type LoginThrottleSettings } from './rate-limit.ts';
export { createAccountMailHandlers, composeAccountMail, enqueueAccountMail, accountMailJob, accountMailJobType, type AccountMailJob, type AccountMailDeps } from './account-mail.ts';
export {
  createAccounts,
  normaliseEmail,
  lastAdminSqlState,
  type Accounts,
  type PasswordHasher,
  type LinkState,
  type SignupError,
  type LoginError,
  type VerifyError,
  type ResetError,
  type ChangePasswordError,
  type SetRoleError,
} from './accounts.service.ts';
