export { createOpenIdProvider, consentPagePolicy, type OpenIdProvider, type OidcAccount, type MisdirectedRequest } from './provider.ts';
export { createOidcAdapter } from './oidc-adapter.ts';
export { loadSigningKeys, rotateSigningKey, activeSigningKeyId } from './keys.ts';
export { addClient, listClients, removeClient, redirectUriProblem, ensurePartClients, type NewClient, type ClientError } from './clients.repository.ts';
export { listConnectedApps, revokeConnectedApp, endProviderSessions, type ConnectedApp } from './connected-apps.ts';
export { createSsoClient, verifyLogoutToken, type SsoClient, type SsoState, type SsoStart, type SsoError } from './sso-client.ts';
export { finishSsoSignIn, handleBackchannelLogout, type LocalSessions } from './sso-sign-in.ts';
