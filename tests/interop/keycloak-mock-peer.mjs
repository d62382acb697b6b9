// oauth2-mock-server shaped into a Keycloak realm as the ITC service runs
// it (realm "Staging", public client "vatps"), on 127.0.0.1.
//
// The mock issues the signed access tokens; its `beforeResponse` hook turns
// each token response into what Keycloak sends:
//   200 {access_token, expires_in, refresh_expires_in, refresh_token,
//        token_type: "bearer", "not-before-policy": 0, session_state, scope}
//   401 invalid_grant "Invalid user credentials"      wrong username or password
//   400 invalid_grant "Token is not active"           unknown or expired refresh token
//   400 invalid_grant "Session not active"            refresh token of an ended session
//   401 invalid_client "Invalid client or Invalid client credentials"  client_id other than vatps
//   400 unsupported_grant_type                        any grant but password and refresh_token
// Test-only routes (never part of a real realm):
//   POST /__test/end-sessions  ends every session (as an admin "log out all sessions")
//   POST /__test/forget        forgets every refresh token (as a realm restart with lost state)
//   GET  /__test/stats         grants served and refused, by grant type
//   POST /__test/accepts       {"active": bool} whether an access token (form field `token`) is live
// Usage: node keycloak-mock-peer.mjs [port]   (0 = any; the port is printed first)
import crypto from 'node:crypto';
import { createServer as http_server } from 'node:http';
import { announce, load, portArgument } from './peer-common.mjs';

const { OAuth2Server } = await load('oauth2-mock-server');

const REALM = '/auth/realms/Staging';
const TOKEN_PATH = `${REALM}/protocol/openid-connect/token`;
const CLIENT_ID = 'vatps';

// Users and their token lifetimes in seconds (short, so that the tests see
// renewals in real time).
const users = {
  'easy-register-test': { password: 'Test@123', accessTtl: 2, refreshTtl: 600 },
  // Its refresh token lapses before the access token is due for renewal.
  'short-refresh': { password: 'Short@123', accessTtl: 4, refreshTtl: 1 },
};

const sessions = new Map(); // session_state -> {username, ended}
const refreshTokens = new Map(); // refresh token -> {session, expiresAt}
const accessTokens = new Map(); // access token -> expiresAt (ms)
const stats = {};
const count = (grant, outcome) => {
  stats[grant] ??= { ok: 0, refused: 0 };
  stats[grant][outcome] += 1;
};

// Not started itself: its request handler is served below.
const server = new OAuth2Server(undefined, undefined, { endpoints: { token: TOKEN_PATH } });
await server.issuer.keys.generate('RS256');

// Keycloak's access tokens carry their own lifetime and a unique id.
server.service.on('beforeTokenSigning', (token, req) => {
  const body = req.body ?? {};
  const username = body.grant_type === 'refresh_token'
    ? sessions.get(refreshTokens.get(body.refresh_token)?.session)?.username
    : body.username;
  const user = users[username];
  if (user) token.payload.exp = token.payload.iat + user.accessTtl;
  token.payload.jti = crypto.randomUUID();
  token.payload.azp = CLIENT_ID;
});

function refuse(response, grant, status, error, description) {
  count(grant, 'refused');
  response.statusCode = status;
  response.body = { error, error_description: description };
}

function issue(response, grant, sessionState, user) {
  const now = Date.now();
  const refreshToken = crypto.randomBytes(32).toString('base64url');
  refreshTokens.set(refreshToken, { session: sessionState, expiresAt: now + user.refreshTtl * 1000 });
  accessTokens.set(response.body.access_token, now + user.accessTtl * 1000);
  count(grant, 'ok');
  response.statusCode = 200;
  response.body = {
    access_token: response.body.access_token,
    expires_in: user.accessTtl,
    refresh_expires_in: user.refreshTtl,
    refresh_token: refreshToken,
    token_type: 'bearer',
    'not-before-policy': 0,
    session_state: sessionState,
    scope: 'profile email',
  };
}

server.service.on('beforeResponse', (response, req) => {
  const body = req.body ?? {};
  const grant = String(body.grant_type);
  if (body.client_id !== CLIENT_ID) {
    return refuse(response, grant, 401, 'invalid_client', 'Invalid client or Invalid client credentials');
  }
  if (grant === 'password') {
    const user = users[body.username];
    if (!user || user.password !== body.password) {
      return refuse(response, grant, 401, 'invalid_grant', 'Invalid user credentials');
    }
    const sessionState = crypto.randomUUID();
    sessions.set(sessionState, { username: body.username, ended: false });
    return issue(response, grant, sessionState, user);
  }
  if (grant === 'refresh_token') {
    const held = refreshTokens.get(body.refresh_token);
    if (!held || held.expiresAt <= Date.now()) {
      return refuse(response, grant, 400, 'invalid_grant', 'Token is not active');
    }
    const session = sessions.get(held.session);
    if (!session || session.ended) {
      return refuse(response, grant, 400, 'invalid_grant', 'Session not active');
    }
    // Keycloak's default: a new refresh token, the old one stays valid.
    return issue(response, grant, held.session, users[session.username]);
  }
  return refuse(response, grant, 400, 'unsupported_grant_type', 'Unsupported grant_type');
});

// The mock's own app ends in a catch-all 404, so the test-only routes sit in
// front of it on the same port.
const control = {
  'POST /__test/end-sessions': () => {
    for (const session of sessions.values()) session.ended = true;
    return { ended: sessions.size };
  },
  'POST /__test/forget': () => {
    const forgotten = refreshTokens.size;
    refreshTokens.clear();
    return { forgotten };
  },
  'GET /__test/stats': () => stats,
  'POST /__test/accepts': (body) => {
    const expiresAt = accessTokens.get(new URLSearchParams(body).get('token') ?? '');
    return { active: expiresAt !== undefined && expiresAt > Date.now() };
  },
};
const mock = server.service.requestHandler;
const http = http_server((req, res) => {
  const route = control[`${req.method} ${req.url.split('?')[0]}`];
  if (!route) return mock(req, res);
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(route(body)));
  });
});
http.listen(portArgument(), '127.0.0.1', () => {
  server.issuer.url = `http://127.0.0.1:${http.address().port}${REALM}`;
  announce(http);
});
