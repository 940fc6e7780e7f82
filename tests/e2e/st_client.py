"""A minimal Streamlit websocket client: a "tab" that opens a page, presses buttons and polls fragments without
a browser, so a load test measures the server's own work (script reruns, serialisation) and not chromium's drawing.

It speaks the protocol the Streamlit frontend speaks on `/_stcore/stream`: a BackMsg `rerun_script` to run the page,
a `rerun_script` with `fragment_id` each time an `auto_rerun` interval elapses (what `st.fragment(run_every=...)`
asks the browser to do), and a GET of every new media URL (the grid PNG), as a browser would.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect  # installed with streamlit (uvicorn's websocket implementation)


@dataclass
class PageState:
    """What one session has seen of its page."""

    page_script_hash: str = ""
    buttons: dict[str, str] = field(default_factory=dict)  # label -> widget id
    fragments: dict[str, float] = field(default_factory=dict)  # fragment id -> rerun interval in seconds
    media: set[str] = field(default_factory=set)  # media URLs already fetched
    pages: list[str] = field(default_factory=list)  # the page names of the last navigation message
    progress: str = ""  # the text of the last progress bar drawn (the Train page's "Step N / M · epoch E")
    fragment_runs: int = 0  # fragment reruns this client asked for and the server finished


class StreamlitTab:
    """One session on `url` (http://host:port), showing page `page` (its URL path, e.g. "Train")."""

    def __init__(self, url: str, page: str) -> None:
        self.url = url.rstrip("/")
        self.page = page
        self.state = PageState()
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._finished = asyncio.Event()

    async def open(self, timeout: float = 60.0) -> None:
        """Connect, run the page once and wait for it to finish."""
        ws_url = self.url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self._ws = await connect(ws_url, subprotocols=["streamlit"], max_size=None)
        self._reader = asyncio.create_task(self._read())
        await self.rerun(timeout=timeout)

    async def rerun(self, trigger: str | None = None, fragment: str | None = None, timeout: float = 60.0) -> None:
        """Rerun the page (pressing the button labelled `trigger`), or one fragment; wait for the run to end."""
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = ""
        cs.page_name = self.page
        cs.page_script_hash = self.state.page_script_hash
        if trigger is not None:
            w = cs.widget_states.widgets.add()
            w.id = self.state.buttons[trigger]
            w.trigger_value = True
        if fragment is not None:
            cs.fragment_id = fragment
            cs.is_auto_rerun = True
        self._finished.clear()
        await self._ws.send(msg.SerializeToString())
        await asyncio.wait_for(self._finished.wait(), timeout)

    async def poll(self, seconds: float) -> None:
        """Rerun every fragment at its own interval for `seconds`, as the browser's timers do."""
        end = time.monotonic() + seconds
        due = {f: time.monotonic() + dt for f, dt in self.state.fragments.items()}
        while due and time.monotonic() < end:
            frag, when = min(due.items(), key=lambda kv: kv[1])
            await asyncio.sleep(max(0.0, when - time.monotonic()))
            if frag not in self.state.fragments:  # the page changed and dropped it
                due.pop(frag)
                continue
            await self.rerun(fragment=frag)
            self.state.fragment_runs += 1
            due[frag] = time.monotonic() + self.state.fragments[frag]
            due.update({f: time.monotonic() + dt for f, dt in self.state.fragments.items() if f not in due})
        if not due:
            await asyncio.sleep(max(0.0, end - time.monotonic()))

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._reader.cancel()

    async def _read(self) -> None:
        async for raw in self._ws:
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "navigation":  # the hash of the page this session shows (needed by every rerun)
                self.state.page_script_hash = msg.navigation.page_script_hash
                self.state.pages = [p.page_name for p in msg.navigation.app_pages]
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                await self._element(msg.delta.new_element)
            elif kind == "auto_rerun":
                self.state.fragments[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                for f in msg.stop_auto_rerun.fragment_ids:
                    self.state.fragments.pop(f, None)
            elif kind == "script_finished":
                if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # st.rerun(): the run that follows is the one to wait for
                self._finished.set()

    async def _element(self, el) -> None:  # el: streamlit.proto.Element
        which = el.WhichOneof("type")
        if which == "button":
            self.state.buttons[el.button.label] = el.button.id
        elif which == "progress":
            self.state.progress = el.progress.text
        elif which == "imgs":
            for img in el.imgs.imgs:
                if img.url and img.url not in self.state.media:
                    self.state.media.add(img.url)
                    await asyncio.to_thread(_fetch, self.url + img.url if img.url.startswith("/") else img.url)


async def press(url: str, page: str, label: str) -> None:
    """Open page in a new session, press the button labelled label, wait for that run, close the session."""
    tab = StreamlitTab(url, page)
    await tab.open()
    await tab.rerun(trigger=label)
    await tab.close()


def _fetch(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as r:
        return len(r.read())
