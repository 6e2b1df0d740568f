"""The twilio library's HTTP client, for fetching the pictures patients text.

The library's own client decodes every answer as text, which would mangle an image, and reads it whole.
This one keeps the body as bytes and stops reading past a limit, so a huge file costs no more than the
limit. It does not log: a media answer redirects to a signed CDN address that grants access to the picture.
"""

from requests import Request, Session
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

CHUNK = 64 * 1024


class MediaHttpClient(TwilioHttpClient):
    def __init__(self, *, max_bytes: int, timeout: float = 30):
        super().__init__(timeout=timeout)
        self.max_bytes = max_bytes

    def request(
        self, method, url, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
    ) -> Response:
        """Like the library's request; the body is bytes, at most `max_bytes` + 1 of them (a longer body is
        cut there: the caller sees that it is over the limit)."""
        session = self.session or Session()
        prepared = session.prepare_request(
            Request(
                method=method.upper(),
                url=url,
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                hooks=self.request_hooks,
            )
        )
        environment = session.merge_environment_settings(prepared.url, self.proxy, True, None, None)
        with session.send(
            prepared, allow_redirects=allow_redirects, timeout=timeout or self.timeout, **environment
        ) as response:
            body = bytearray()
            for chunk in response.iter_content(CHUNK):
                body += chunk
                if len(body) > self.max_bytes:
                    del body[self.max_bytes + 1 :]
                    break
            return Response(int(response.status_code), bytes(body), response.headers)
