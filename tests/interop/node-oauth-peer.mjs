// @node-oauth/oauth2-server behind express, with an in-memory model, on
// 127.0.0.1. One token handler is mounted at the three paths the crate's
// flows use:
//   /auth/realms/Staging/protocol/openid-connect/token   ITC session (password, refresh_token)
//   /oauth2/v3/token                                     GAM (client_credentials + scope)
//   /v2/oauth/token                                      MonPay (authorization_code)
// Test-only routes (never part of a real server):
//   POST /__test/code    -> {"code": "..."}  issues an authorization code for the MonPay client
//   GET  /__test/stats   -> grants served and refused, by grant type
//   POST /__test/accepts -> {"active": bool} whether an access token (form field `token`) is live
// Usage: node node-oauth-peer.mjs [port]   (0 = any; the port is printed first)
import crypto from 'node:crypto';
import { announce, load, portArgument } from './peer-common.mjs';

const { default: express } = await load('express');
const { default: OAuth2Server } = await load('@node-oauth/oauth2-server');
const { Request, Response } = OAuth2Server;

// Lifetimes in seconds, short so that the tests see renewals in real time.
const ACCESS_TTL = Number(process.env.PEER_ACCESS_TTL ?? 3);
const REFRESH_TTL = Number(process.env.PEER_REFRESH_TTL ?? 600);

const clients = {
  // ITC's Keycloak client: public, no secret (password + refresh grants).
  // Its short access-token lifetime (ACCESS_TTL) lets the tests see renewals.
  vatps: { id: 'vatps', secret: null, grants: ['password', 'refresh_token'], accessTokenLifetime: ACCESS_TTL },
  // A GAM partner: confidential, client credentials with allowed scopes.
  'gam-partner': {
    id: 'gam-partner',
    secret: 'gam-secret',
    grants: ['client_credentials'],
    accessTokenLifetime: 3600,
    scopes: ['iam:user-password:update', 'gamp:erp.customer-reconciliation.write-direct'],
  },
  // A MonPay mini app: confidential, authorization code with a registered redirect.
  'monpay-miniapp': {
    id: 'monpay-miniapp',
    secret: 'monpay-secret',
    grants: ['authorization_code'],
    accessTokenLifetime: 3600,
    redirectUris: ['https://miniapp.example/callback'],
  },
};
const users = { 'easy-register-test': { id: 'easy-register-test', password: 'Test@123' } };

const accessTokens = new Map();
const refreshTokens = new Map();
const codes = new Map();
const stats = {};
const count = (grant, outcome) => {
  stats[grant] ??= { ok: 0, refused: 0 };
  stats[grant][outcome] += 1;
};

const model = {
  async getClient(clientId, clientSecret) {
    const client = clients[clientId];
    if (!client) return null;
    if (client.secret !== null && client.secret !== clientSecret) return null;
    return client;
  },
  async getUser(username, password) {
    const user = users[username];
    return user && user.password === password ? user : null;
  },
  async getUserFromClient(client) {
    return { id: `service-account-${client.id}` };
  },
  async validateScope(user, client, scope) {
    if (!client.scopes) return scope ?? [];
    if (!scope || scope.length === 0) return false;
    return scope.every((s) => client.scopes.includes(s)) ? scope : false;
  },
  async saveToken(token, client, user) {
    const saved = { ...token, client, user };
    accessTokens.set(token.accessToken, saved);
    if (token.refreshToken) refreshTokens.set(token.refreshToken, saved);
    return saved;
  },
  async getAccessToken(accessToken) {
    return accessTokens.get(accessToken) ?? null;
  },
  async getRefreshToken(refreshToken) {
    return refreshTokens.get(refreshToken) ?? null;
  },
  async revokeToken(token) {
    return refreshTokens.delete(token.refreshToken);
  },
  async saveAuthorizationCode(code, client, user) {
    const saved = { ...code, client, user };
    codes.set(code.authorizationCode, saved);
    return saved;
  },
  async getAuthorizationCode(authorizationCode) {
    return codes.get(authorizationCode) ?? null;
  },
  async revokeAuthorizationCode(code) {
    return codes.delete(code.authorizationCode);
  },
};

const oauth = new OAuth2Server({
  model,
  accessTokenLifetime: 3600,
  refreshTokenLifetime: REFRESH_TTL,
  // Rotation: every refresh revokes the refresh token it used.
  alwaysIssueNewRefreshToken: true,
  // vatps is a public client: no secret for its grants.
  requireClientAuthentication: { password: false, refresh_token: false },
});

const app = express();
app.disable('x-powered-by');

async function tokenEndpoint(req, res) {
  const grant = String(req.body?.grant_type ?? 'none');
  const request = new Request(req);
  const response = new Response(res);
  try {
    await oauth.token(request, response);
    count(grant, 'ok');
    res.set(response.headers);
    res.status(response.status).json(response.body);
  } catch (e) {
    count(grant, 'refused');
    res.set(response.headers ?? {});
    res.status(e.code ?? 500).json({ error: e.name, error_description: e.message });
  }
}

const form = express.urlencoded({ extended: false });
for (const path of ['/auth/realms/Staging/protocol/openid-connect/token', '/oauth2/v3/token', '/v2/oauth/token']) {
  app.post(path, form, tokenEndpoint);
}

app.post('/__test/code', async (_req, res) => {
  const client = clients['monpay-miniapp'];
  const code = await model.saveAuthorizationCode(
    {
      authorizationCode: crypto.randomBytes(24).toString('hex'),
      expiresAt: new Date(Date.now() + 60_000),
      redirectUri: client.redirectUris[0],
      scope: ['profile'],
    },
    client,
    { id: 'monpay-user' },
  );
  res.json({ code: code.authorizationCode });
});
app.get('/__test/stats', (_req, res) => res.json(stats));
app.post('/__test/accepts', form, async (req, res) => {
  const token = await model.getAccessToken(String(req.body?.token ?? ''));
  res.json({ active: Boolean(token && token.accessTokenExpiresAt > new Date()) });
});

const server = app.listen(portArgument(), '127.0.0.1', () => announce(server));
