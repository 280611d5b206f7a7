// A minimal PNG encoder for the tests that send images (8-bit greyscale or
// RGB, filter type 0 on every row, one IDAT chunk): the files are real PNGs,
// with the signature and each chunk's CRC, so a server decodes them as it
// would a user's.
//
// Kept outside test/ so that `node --test test/` does not run it as a test.
import { deflateSync } from "node:zlib";

/** The eight bytes every PNG file starts with. */
const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "ascii");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * encode makes the PNG file of a w×h picture whose rows are in raw, each
 * row its filter byte (0) then its pixels, of the given colour type (0
 * greyscale, 2 RGB), 8 bits a sample.
 */
function encode(w, h, colourType, raw) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, colourType, 0, 0, 0], 8);
  return Buffer.concat([signature, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

/** greyPNG is a w×h greyscale PNG whose pixel (x, y) is grey(x, y), 0 to 255. */
export function greyPNG(w, h, grey) {
  const raw = Buffer.alloc(h * (1 + w));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw[y * (1 + w) + 1 + x] = grey(x, y);
  return encode(w, h, 0, raw);
}

/** rgbPNG is a w×h RGB PNG whose pixel (x, y) is pixel(x, y) = [r, g, b]. */
export function rgbPNG(w, h, pixel) {
  const raw = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; y++) {
    raw[y * (1 + 3 * w)] = 0;
    for (let x = 0; x < w; x++) raw.set(pixel(x, y), y * (1 + 3 * w) + 1 + 3 * x);
  }
  return encode(w, h, 2, raw);
}
