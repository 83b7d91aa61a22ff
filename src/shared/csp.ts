// One Content-Security-Policy for both transports: the Electron shell sets it on its responses,
// the headless server sends it as a header, and index.html carries it as a meta tag.
// 'self' covers same-origin ws: in current Chromium. Styles allow inline because Svelte
// transitions insert <style> elements at run time; scripts never do.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
