// oidc-provider (a certified OpenID provider) on 127.0.0.1.
//   * client credentials (feature flag on) for the GAM partner client;
//   * authorization code through the development login and consent
//     interactions (any login is accepted), PKCE not required, for the
//     MonPay mini-app client; its token endpoint is routed to MonPay's path;
//   * a custom `password` grant (oidc-provider has none built in) for ITC's
//     public client `vatps`, and the built-in refresh_token grant with
//     rotation: a reused refresh token revokes the whole grant.
// Its one token endpoint is served at MonPay's path (`routes.token`); the
// GAM and ITC token paths are rewritten to it in front of the provider.
// Usage: node oidc-provider-peer.mjs [port]   (0 = any; the port is printed first)
import { createServer } from 'node:http';
import { announce, load, portArgument } from './peer-common.mjs';

const { default: Provider, errors } = await load('oidc-provider');

const TOKEN_PATH = '/v2/oauth/token';
const ALIASES = new Set(['/oauth2/v3/token', '/auth/realms/Staging/protocol/openid-connect/token']);
const GAM_SCOPES = 'iam:user-password:update gamp:erp.customer-reconciliation.write-direct';
const users = { 'easy-register-test': 'Test@123' };
// Short enough that the tests see the ITC session renew in real time.
const ITC_ACCESS_TTL = 2;

let provider;
const server = createServer((req, res) => {
  const [path, query] = req.url.split('?');
  if (ALIASES.has(path)) req.url = TOKEN_PATH + (query === undefined ? '' : `?${query}`);
  provider.callback()(req, res);
});

server.listen(portArgument(), '127.0.0.1', async () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'gam-partner',
        client_secret: 'gam-secret',
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: GAM_SCOPES,
      },
      {
        client_id: 'monpay-miniapp',
        client_secret: 'monpay-secret',
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['https://miniapp.example/callback'],
      },
      {
        client_id: 'vatps',
        token_endpoint_auth_method: 'none',
        grant_types: ['password', 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    cookies: { keys: ['tokendance-interop-only'] },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: true },
    },
    pkce: { required: () => false },
    routes: { token: TOKEN_PATH },
    scopes: ['openid', 'offline_access', ...GAM_SCOPES.split(' ')],
    rotateRefreshToken: true,
    ttl: {
      AccessToken: (_ctx, _token, client) => (client.clientId === 'vatps' ? ITC_ACCESS_TTL : 3600),
      ClientCredentials: 3600,
      AuthorizationCode: 60,
      RefreshToken: 600,
      Grant: 600,
      Interaction: 600,
      Session: 600,
      IdToken: 3600,
    },
    async findAccount(_ctx, sub) {
      return { accountId: sub, async claims() { return { sub }; } };
    },
  });

  provider.registerGrantType(
    'password',
    async (ctx) => {
      const { client, params } = ctx.oidc;
      if (!(params.username in users) || users[params.username] !== params.password) {
        throw new errors.InvalidGrant('invalid credentials provided');
      }
      const scope = 'openid offline_access';
      const grant = new provider.Grant({ accountId: params.username, clientId: client.clientId });
      grant.addOIDCScope(scope);
      const grantId = await grant.save();
      const at = new provider.AccessToken({ accountId: params.username, client, grantId, scope, gty: 'password' });
      const rt = new provider.RefreshToken({ accountId: params.username, client, grantId, scope, gty: 'password' });
      const accessToken = await at.save();
      ctx.body = {
        access_token: accessToken,
        expires_in: at.expiration,
        refresh_token: await rt.save(),
        scope,
        token_type: 'Bearer',
      };
    },
    ['username', 'password', 'scope'],
  );

  // Quiet: errors reach the client as responses; keep stderr for crashes.
  announce(server);
});
