/**
 * Where ActivityPub lives on the site's origin. Actor ids are stable for ever (other servers
 * store them), so these never change; the HTML profile pages are the social hub's.
 */
export const apPaths = {
  actor: '/ap/actors/{identifier}',
  inbox: '/ap/actors/{identifier}/inbox',
  sharedInbox: '/ap/inbox',
  outbox: '/ap/actors/{identifier}/outbox',
  followers: '/ap/actors/{identifier}/followers',
  following: '/ap/actors/{identifier}/following',
  note: '/ap/notes/{id}',
  article: '/ap/articles/{id}',
  event: '/ap/events/{id}',
  nodeinfo: '/nodeinfo/2.1',
} as const;

/** Whether a request path is one the federation answers (the rest go on to the site). */
export function isFederationPath(pathname: string): boolean {
  return pathname.startsWith('/ap/') || pathname === '/.well-known/webfinger' || pathname === '/.well-known/nodeinfo' || pathname === apPaths.nodeinfo;
}

/** Whether a request is a delivery to one of our inboxes. */
export function isInboxPath(pathname: string): boolean {
  return pathname === apPaths.sharedInbox || /^\/ap\/actors\/[^/]+\/inbox$/.test(pathname);
}
