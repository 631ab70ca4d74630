"""Serves the demo page (web/) on 127.0.0.1 with the headers a page holding tokens should have.

    .venv/bin/python scripts/serve-web.py --port 8080 --api http://localhost:3000

`python -m http.server` cannot add a header, and the page's Content-Security-Policy is one: a
<meta> policy cannot carry `frame-ancestors` (nor `X-Frame-Options`' job), and `connect-src`
must name the API's origin, which only the one serving the page knows. So the policy is sent
here, computed from --api, on every answer:

- `default-src 'self'`, and `script-src 'self'`: app.js only; no inline script, no inline event
  handler, no eval. Trusted Types (`require-trusted-types-for 'script'`, with no policy allowed)
  make the browser itself refuse any string written to innerHTML, outerHTML,
  insertAdjacentHTML or document.write: the page builds its DOM with textContent only.
- `connect-src <the API's origin>`: fetch reaches the API and nothing else, so a script that
  got in anyway could not send the tokens elsewhere (nor could a `?api=` link aimed at
  another server: the page reports the refusal).
- `img-src 'self' data:`: the authenticator's QR code, an SVG the API draws, shown as a
  data: image (an image runs no script).
- `object-src 'none'`, `base-uri 'none'`, `form-action 'none'` (every form is submitted by
  app.js; without it, the browser would never put a password into a URL), `frame-ancestors
  'none'` (no clickjacking).

Standard library only; it binds 127.0.0.1 alone (a browser reaches it as http://localhost,
the relying party a passkey needs), lists no directory and serves nothing outside web/.
A deployed copy of the page needs the same headers from its own host (a CDN's response-headers
policy, for one).
"""

import argparse
import functools
import http.server
import sys
from pathlib import Path
from urllib.parse import urlsplit

WEB = Path(__file__).resolve().parent.parent / "web"


def origin_of(url: str) -> str:
    """The origin (scheme://host[:port]) of an http(s) URL, or an error for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def headers_for(api_origin: str) -> dict[str, str]:
    csp = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {api_origin}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        ]
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        # An edit to web/ shows on the next load.
        "Cache-Control": "no-cache",
    }


class Handler(http.server.SimpleHTTPRequestHandler):
    extra_headers: dict[str, str] = {}
    extensions_map = {
        ".html": "text/html; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".png": "image/png",
        "": "application/octet-stream",
    }

    def end_headers(self):
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def list_directory(self, path):
        self.send_error(404)
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--api", type=origin_of, required=True, help="the API's base URL")
    args = parser.parse_args()

    Handler.extra_headers = headers_for(args.api)
    handler = functools.partial(Handler, directory=str(WEB))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    print(f"serving {WEB} on http://localhost:{args.port} (connect-src {args.api})", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
