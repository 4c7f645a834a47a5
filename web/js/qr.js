// A link as an SVG QR code, drawn with the vendored qrcode-generator (web/vendor/qrcode.js,
// loaded by the page with a plain <script defer>): one path of dark modules on a white
// quiet zone, labelled for screen readers.

const SVG = 'http://www.w3.org/2000/svg';

/** True once the vendored generator is loaded. */
export function qrAvailable() {
  return typeof window.qrcode === 'function';
}

/** An <svg role="img"> QR code of `text`, with `label` as its accessible name. */
export function qrSvg(text, label = '') {
  const qr = window.qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const count = qr.getModuleCount();
  const quiet = 4;
  const size = count + quiet * 2;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('class', 'qr');
  svg.setAttribute('role', 'img');
  svg.setAttribute('shape-rendering', 'crispEdges');
  const title = document.createElementNS(SVG, 'title');
  svg.append(title);
  const background = document.createElementNS(SVG, 'rect');
  background.setAttribute('width', String(size));
  background.setAttribute('height', String(size));
  background.setAttribute('fill', '#ffffff');
  svg.append(background);
  let d = '';
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (qr.isDark(row, col)) d += `M${col + quiet} ${row + quiet}h1v1h-1z`;
    }
  }
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000000');
  svg.append(path);
  labelQr(svg, label);
  return svg;
}

/** (Re)label a QR code made by qrSvg, after a language change. */
export function labelQr(svg, label) {
  const title = svg.querySelector('title');
  if (title) title.textContent = label;
  svg.setAttribute('aria-label', label);
}
