/** Hash routes, so a reload (and the SPA fallback) always lands on the right screen. */
import { useEffect, useState } from 'react';

export type Route =
  | { name: 'home' }
  | { name: 'new-group' }
  | { name: 'group'; groupId: string }
  | { name: 'account' }
  | { name: 'org-admin' }
  | { name: 'forgot-password' }
  | { name: TokenRouteName; token: string };

/** Pages opened from a mail's link: `#/<name>?token=…` (the fragment never reaches a server). */
export const TOKEN_ROUTES = ['accept-invitation', 'verify-email', 'reset-password'] as const;
export type TokenRouteName = (typeof TOKEN_ROUTES)[number];

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?');
  const tokenRoute = TOKEN_ROUTES.find((name) => path === `/${name}`);
  if (tokenRoute) return { name: tokenRoute, token: new URLSearchParams(query).get('token') ?? '' };
  if (path === '/account') return { name: 'account' };
  if (path === '/org-admin') return { name: 'org-admin' };
  if (path === '/forgot-password') return { name: 'forgot-password' };
  if (path === '/new-group') return { name: 'new-group' };
  const match = /^\/groups\/([^/]+)$/.exec(path);
  if (match?.[1]) return { name: 'group', groupId: decodeURIComponent(match[1]) };
  return { name: 'home' };
}

export function hrefFor(route: Route): string {
  switch (route.name) {
    case 'home':
      return '#/';
    case 'new-group':
      return '#/new-group';
    case 'group':
      return `#/groups/${encodeURIComponent(route.groupId)}`;
    case 'account':
    case 'org-admin':
    case 'forgot-password':
      return `#/${route.name}`;
    default:
      return `#/${route.name}?token=${encodeURIComponent(route.token)}`;
  }
}

export function navigate(route: Route): void {
  location.hash = hrefFor(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
