// QR codes drawn in this browser: the invite link holds the room secret, so
// it must never be sent anywhere to be drawn. The encoder is the vendored
// qrcode-generator (static/vendor/qrcode-generator/, MIT), loaded only when
// a room is shown, and unchanged; this module only turns its modules into
// one SVG path (no inline style attributes: the CSP forbids them).

const SVG = 'http://www.w3.org/2000/svg';
const QUIET = 4; // modules of white border, as the QR standard asks

/** qrSVG resolves to an <svg> element encoding text (error correction M, smallest version that fits). */
export async function qrSVG(text) {
  const { default: qrcode } = await import('../vendor/qrcode-generator/qrcode.mjs');
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  let d = '';
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.isDark(r, c)) d += `M${c + QUIET} ${r + QUIET}h1v1h-1z`;
    }
  }
  const size = n + 2 * QUIET;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('shape-rendering', 'crispEdges');
  const bg = document.createElementNS(SVG, 'rect');
  bg.setAttribute('width', String(size));
  bg.setAttribute('height', String(size));
  bg.setAttribute('fill', '#fff');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(bg, path);
  return svg;
}
