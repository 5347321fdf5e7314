/** Hash routes, so a reload (and the SPA fallback) always lands on the right screen. */
import { useEffect, useState } from 'react';

export type Route = { name: 'home' } | { name: 'new-group' } | { name: 'group'; groupId: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
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
