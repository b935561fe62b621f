// Verifies an eusaas access token with the jose library using nothing but the server's
// JWKS URL. Usage: node verify.mjs <jwks-url> <token> <issuer> <audience>
// Prints one JSON line {ok, payload?, header?, code?}; exits 0 when verified, 1 otherwise.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [url, token, issuer, audience] = process.argv.slice(2);
const jwks = createRemoteJWKSet(new URL(url));
try {
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer,
    audience,
    algorithms: ['RS256'],
  });
  console.log(JSON.stringify({ ok: true, payload, header: protectedHeader }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, code: e.code ?? String(e) }));
  process.exit(1);
}
