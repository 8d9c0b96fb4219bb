// test/k6/shim/encoding.js -- k6/encoding's b64encode on node's Buffer.
const ENCODINGS = { std: 'base64', rawurl: 'base64url' };

export function b64encode(input, encoding = 'std') {
  if (!ENCODINGS[encoding]) {
    throw new Error(`shim: unsupported b64encode encoding ${encoding}`);
  }
  return Buffer.from(input).toString(ENCODINGS[encoding]);
}

export default { b64encode };
