// test/k6/shim/crypto.js -- k6/crypto's hmac on node's crypto module.
import { createHmac } from 'node:crypto';

const ENCODINGS = { hex: 'hex', base64: 'base64', base64rawurl: 'base64url' };

export function hmac(algorithm, secret, data, outputEncoding) {
  if (!ENCODINGS[outputEncoding]) {
    throw new Error(`shim: unsupported hmac output encoding ${outputEncoding}`);
  }
  return createHmac(algorithm, secret).update(data).digest(ENCODINGS[outputEncoding]);
}

export default { hmac };
