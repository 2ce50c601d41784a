"""A student without a browser: Streamlit's own websocket protocol, to load a server harder than browsers can.

With 2 cores shared between the server and headless Chromium, the browsers' rendering (Plotly
charts, images) costs more CPU than the server's work, so browsers cannot drive a server at
its capacity. This client speaks what the browser speaks, and nothing more: a `rerun_script`
BackMsg with the widget states, the upload handshake (`file_urls_request`, then an HTTP PUT
with the XSRF token), the media files the page shows (GET, as the browser fetches them), and
it waits for the `script_finished` ForwardMsg. It draws nothing.

Streamlit has no client library; the messages are its protobufs (`streamlit.proto`), read
the way its frontend sends them (seen in Chromium's websocket frames).
"""

import asyncio
import contextlib
import uuid

import aiohttp
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

# ForwardMsg.ScriptFinishedStatus values that end a run the client waits for (not the early end
# of a run that another one replaces).
FINISHED = (0, 1, 3)
XSRF_COOKIE = "_streamlit_xsrf"


def _widget_ids(element, found):
    """Collects `{id: element}` of the widgets in a delta's element (any element type with an `id`)."""
    kind = element.WhichOneof("type")
    if kind is None:
        return
    value = getattr(element, kind)
    widget_id = getattr(value, "id", "")
    if isinstance(widget_id, str) and widget_id.startswith("$$ID-"):
        found[widget_id] = value


def _media_urls(element):
    kind = element.WhichOneof("type")
    if kind == "imgs":
        return [image.url for image in element.imgs.imgs if image.url.startswith("/media/")]
    return []


class Student:
    """One browser-less session of the app at `url`, on page `page` with query `query`."""

    def __init__(self, url, page, query, timeout=120.0):
        self.url, self.page, self.query, self.timeout = url.rstrip("/"), page, query, timeout
        self.http = self.socket = self.reader = None
        self.session_id = None
        self.widgets = {}  # id -> the widget's proto, from the last run's deltas.
        self.media = []
        self._finished = None
        self._file_urls = {}
        self._uploaded = None  # The delete URL of the file in the uploader, removed before the next one.
        self.exceptions = 0

    async def open(self):
        """Connects, as a page load does, and waits for the first run to finish."""
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        for path in ("/_stcore/health", "/_stcore/host-config"):  # As the frontend starts; health sets the XSRF cookie.
            async with self.http.get(f"{self.url}{path}") as response:
                await response.read()
        xsrf = self._xsrf()
        self.socket = await self.http.ws_connect(f"{self.url.replace('http', 'ws', 1)}/_stcore/stream",
                                                 protocols=("streamlit", xsrf) if xsrf else ("streamlit",),
                                                 max_msg_size=0, headers={"Origin": self.url})
        self.reader = asyncio.create_task(self._read())
        await self.rerun({})

    def _xsrf(self):
        # The cookie holds "|" and comes back quoted; the header carries the bare token.
        return next((cookie.value for cookie in self.http.cookie_jar if cookie.key == XSRF_COOKIE), "").strip('"')

    async def close(self):
        if self.reader:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        if self.socket:
            await self.socket.close()
        if self.http:
            await self.http.close()

    async def _read(self):
        async for frame in self.socket:
            if frame.type != aiohttp.WSMsgType.BINARY:
                continue
            message = ForwardMsg()
            message.ParseFromString(frame.data)
            kind = message.WhichOneof("type")
            if kind == "new_session":
                self.session_id = message.new_session.initialize.session_id
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                _widget_ids(element, self.widgets)
                self.media += _media_urls(element)
                if element.WhichOneof("type") == "exception":
                    self.exceptions += 1
            elif kind == "file_urls_response":
                future = self._file_urls.pop(message.file_urls_response.response_id, None)
                if future and not future.done():
                    future.set_result(message.file_urls_response)
            elif kind == "script_finished" and message.script_finished in FINISHED:
                if self._finished and not self._finished.done():
                    self._finished.set_result(message.script_finished)

    def widget(self, suffix):
        """The id of the widget whose key ends with `suffix` (e.g. "-predict-upload"), from the last run."""
        return next(widget_id for widget_id in self.widgets if widget_id.endswith(suffix))

    async def rerun(self, states):
        """Sends a rerun with these widget states (`{id: WidgetState setter}`), waits for it and fetches its media."""
        message = BackMsg()
        message.rerun_script.query_string = self.query
        message.rerun_script.page_name = self.page
        for widget_id, set_value in states.items():
            state = message.rerun_script.widget_states.widgets.add()
            state.id = widget_id
            set_value(state)
        self.widgets, self.media = {}, []
        self._finished = asyncio.get_running_loop().create_future()
        await self.socket.send_bytes(message.SerializeToString())
        await asyncio.wait_for(self._finished, self.timeout)
        await asyncio.gather(*(self._fetch(url) for url in self.media))

    async def _fetch(self, url):
        async with self.http.get(f"{self.url}{url}") as response:
            await response.read()

    async def choose(self, suffix, label):
        """Sets a segmented control (e.g. the image source) to the option shown as `label`, as a click does."""
        await self.rerun({self.widget(suffix): lambda state: state.string_array_value.data.append(label)})

    async def upload(self, suffix, name, data, keep=None):
        """Uploads one file into the uploader whose key ends with `suffix`, as choosing a file does; waits for the run.

        `keep` are widget states to send along (e.g. the image source), as the browser sends every widget's.
        """
        uploader = self.widget(suffix)
        if self._uploaded:  # The browser removes the last file first (its chip's delete button).
            async with self.http.delete(f"{self.url}{self._uploaded}", headers={"X-Xsrftoken": self._xsrf()}):
                pass
        request = BackMsg()
        request.file_urls_request.request_id = str(uuid.uuid4())
        request.file_urls_request.file_names.append(name)
        request.file_urls_request.session_id = self.session_id
        future = asyncio.get_running_loop().create_future()
        self._file_urls[request.file_urls_request.request_id] = future
        await self.socket.send_bytes(request.SerializeToString())
        urls = (await asyncio.wait_for(future, self.timeout)).file_urls[0]
        form = aiohttp.FormData()
        form.add_field("file", data, filename=name, content_type="application/octet-stream")
        async with self.http.put(f"{self.url}{urls.upload_url}", data=form,
                                 headers={"X-Xsrftoken": self._xsrf()}) as response:
            if response.status >= 300:
                raise RuntimeError(f"The upload was refused: HTTP {response.status} {await response.text()}")
        self._uploaded = urls.delete_url

        def set_file(state):
            info = state.file_uploader_state_value.uploaded_file_info.add()
            info.name, info.size, info.file_id = name, len(data), urls.file_id
            info.file_urls.CopyFrom(urls)

        await self.rerun({**(keep or {}), uploader: set_file})
