// A real OpenID provider (npm's certified oidc-provider) on a loopback
// ephemeral port, for the sign-in tests. Its configuration is the one JSON
// argument: {client_id, client_secret, redirect_uri, accounts: {login: claims}}.
// It prints {"issuer": ...} once it listens, and exits when stdin closes, so
// it never outlives the tests that started it.
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2]);

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: [config.redirect_uri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
    }],
    pkce: { required: () => true },
    scopes: ['openid', 'email'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // The claims in the ID token itself, as Google and Entra ID send them.
    conformIdTokenClaims: false,
    // The dev login form takes any login: it names one of `accounts`.
    async findAccount(ctx, sub) {
      const claims = config.accounts[sub];
      if (!claims) return undefined;
      return { accountId: sub, async claims() { return { sub, ...claims }; } };
    },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['test-only-cookie-key'] },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
