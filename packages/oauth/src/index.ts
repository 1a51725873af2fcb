export { createOpenIdProvider, type OpenIdProvider } from './provider.ts';
export { rotateSigningKey, activeSigningKeyId } from './keys.ts';
export { addClient, listClients, removeClient, ensurePartClients, type NewClient, type ClientError } from './clients.repository.ts';
export { listConnectedApps, revokeConnectedApp, endProviderSessions, type ConnectedApp } from './connected-apps.ts';
export { createSsoClient, type SsoClient, type SsoState, type SsoError } from './sso-client.ts';
export { finishSsoSignIn, handleBackchannelLogout, type LocalSessions } from './sso-sign-in.ts';
