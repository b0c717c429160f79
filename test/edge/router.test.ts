// Route matching: host, path prefix and transport, first match wins; a route whose transport refuses the request is passed over.
import t from 'tap';
import { findRoute, routeMatches } from '../../src/edge/router.js';
import type { RouteConfig } from '../../src/config/types.js';

const route = (name: string, match: RouteConfig['match']): { config: RouteConfig } =>
  ({ config: { name, match, pool: 'p', allow_missing_origin: true, http: true } });

t.test('transport: absent and any take both kinds; websocket and http one each', async (t) => {
  const rows: [RouteConfig['match'], boolean, boolean][] = [
    [{}, true, true],
    [{ transport: 'any' }, true, true],
    [{ transport: 'websocket' }, true, false],
    [{ transport: 'http' }, false, true],
  ];
  for (const [match, ws, http] of rows) {
    t.equal(routeMatches(route('r', match).config, 'h', '/', 'websocket'), ws, `${JSON.stringify(match)} websocket`);
    t.equal(routeMatches(route('r', match).config, 'h', '/', 'http'), http, `${JSON.stringify(match)} http`);
  }
});

t.test('two routes on one path split upgrades from plain HTTP; no route for the transport is none at all', async (t) => {
  const routes = [
    route('live-ws', { path: '/live', transport: 'websocket' }),
    route('live-http', { path: '/live', transport: 'http' }),
    route('only-ws', { path: '/ws', transport: 'websocket' }),
  ];
  t.equal(findRoute(routes, 'a.example', '/live?x=1', 'websocket')?.config.name, 'live-ws');
  t.equal(findRoute(routes, 'a.example', '/live/poll', 'http')?.config.name, 'live-http');
  t.equal(findRoute(routes, 'a.example', '/ws', 'websocket')?.config.name, 'only-ws');
  t.equal(findRoute(routes, 'a.example', '/ws', 'http'), undefined, 'a plain request on a websocket-only path matches nothing');
  t.equal(findRoute(routes, 'a.example', '/other', 'websocket'), undefined);
});

t.test('host and path still decide first', async (t) => {
  const routes = [route('api', { host: '*.example.com', path: '/api', transport: 'http' }), route('any', {})];
  t.equal(findRoute(routes, 'x.example.com:443', '/api/v1', 'http')?.config.name, 'api');
  t.equal(findRoute(routes, 'x.example.com', '/api/v1', 'websocket')?.config.name, 'any', 'falls through to the next route');
  t.equal(findRoute(routes, 'example.org', '/api', 'http')?.config.name, 'any');
});
