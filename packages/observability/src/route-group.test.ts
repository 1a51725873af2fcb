import { describe, expect, it } from 'vitest';
import { linkPaths } from '@rose/core';
import { routeGroupOf } from './route-group.ts';

describe('route groups', () => {
  it('names each part from its links', () => {
    expect(routeGroupOf(linkPaths.auth.login('/account/'))).toBe('auth');
    expect(routeGroupOf(linkPaths.provider.interaction('abc'))).toBe('auth');
    expect(routeGroupOf(linkPaths.account.home())).toBe('account');
    expect(routeGroupOf(linkPaths.api.health())).toBe('api');
    expect(routeGroupOf(linkPaths.api.ghostWebhook())).toBe('api');
    expect(routeGroupOf(linkPaths.market.manageProduct('bread'))).toBe('market');
    expect(routeGroupOf(linkPaths.blog.post('hello'))).toBe('blog');
    expect(routeGroupOf('/_server-islands/AccountMenu?e=x&p=y&s=z')).toBe('island');
  });

  it('counts a prefix without its slash as the whole path only', () => {
    expect(routeGroupOf(linkPaths.account.home().slice(0, -1))).toBe('account');
    expect(routeGroupOf(`${linkPaths.account.home().slice(0, -1)}?x=1`)).toBe('account');
    expect(routeGroupOf(`${linkPaths.blog.home().slice(0, -1)}roll/`)).toBe('other');
    expect(routeGroupOf(`${linkPaths.auth.login().split('/').slice(0, 2).join('/')}ors/`)).toBe('other');
  });

  it('puts everything else in "other", never the path itself', () => {
    for (const path of ['/', '/sitemap.xml', '/.well-known/webfinger?resource=acct:x@y', '/nothing/here', '', '//evil']) expect(routeGroupOf(path)).toBe('other');
  });
});
