"""Presenter mode (`?presenter=1` or the sidebar toggle): a page that reads from the back of a room on a 1280x720
projector. The sidebar starts collapsed; every chart text is at least
MIN_CHART_FONT_PX; metric values are large and their labels wrap instead of being cut; the headline demo is told
in a banner that stays at the top while the page scrolls, with a "Next step" button that scrolls to the chart the
step talks about. Also the "copy link" control."""
from __future__ import annotations

import html
import re

import plotly.graph_objects as go
import streamlit as st

from lstm_viz.ui import page_schemas, page_url

KEY = "presenter"
# From the back of a room a 1280x720 projection needs about 18 px text (the measure): every chart text
# (ticks, legends, titles, colour bars, annotations) is at least this size; the chart's base font a little more.
MIN_CHART_FONT_PX = 18
CHART_FONT_SIZE = 20
CHART_TITLE_FONT_SIZE = 24
# Line charts at this height fit under the banner on a 720 px screen (the browser test measures it); taller
# figures (stacked heatmaps) grow in proportion to keep their rows readable with the larger type.
CHART_HEIGHT = 470
TALL_FIGURE_SCALE = 1.3
LEGEND_BELOW_MARGIN_PX = 150
BANNER_KEY = "presenter_banner"
_STYLE = """
<style>
html { font-size: 19px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.1rem; }
[data-testid="stMetricValue"] { font-size: 2.6rem; }
/* The value's text sits in a markdown paragraph, which the paragraph rule above would shrink to body size. */
[data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p { font-size: inherit; }
[data-testid="stCaptionContainer"] { font-size: 0.95rem; }
.block-container, [data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }
/* The narrative banner stays under the app's header while the page scrolls to the chart it talks about (on the
   banner's wrapper: a sticky element only moves within its parent, and the wrapper is exactly as tall as it). */
[data-testid="stLayoutWrapper"]:has(> .st-key-presenter_banner) { position: sticky; top: 3.75rem; z-index: 990;
  background: var(--background-color, #fff); padding: 0.2rem 0 0.4rem 0; }
.st-key-presenter_banner [data-testid="stAlert"] p { font-size: 1.15rem; }
</style>
"""
# Metric labels wrap onto a second line instead of ending in "…" (in normal mode too: five metrics share a row).
_METRIC_STYLE = """
<style>
[data-testid="stMetricLabel"] * { white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; }
</style>
"""


def init() -> None:
    """Once per run, before the page draws (app.py): the URL flag switches presenter mode on for the session."""
    page_url.sync(page_schemas.APP)  # the flag in the address, on every page; kept for the toggle drawn last
    if st.session_state[KEY]:
        # The sidebar holds nothing a room needs to see; the presenter opens it with the arrow at the top left.
        st.set_page_config(initial_sidebar_state="collapsed")
        st.html(_STYLE)
        st.html(_SCROLL_WATCHER, unsafe_allow_javascript=True)
    st.html(_METRIC_STYLE)


def on() -> bool:
    return bool(st.session_state.get(KEY, False))


def sidebar_controls() -> None:
    """The presenter toggle and the copy-link control, at the foot of the sidebar (after app.py's
    page_url.write_back, so the link is this view's). The toggle's value reaches the address on the run it causes."""
    with st.sidebar:
        st.toggle("Presenter mode", key=KEY,
                  help="Larger type and charts, advanced settings hidden, and a narrative for each step of the "
                       "headline demo. In a link: add ?presenter=1.")
        with st.popover(":material/link: Copy link", width="stretch",
                        help="A link to exactly this view: page, settings and presenter mode."):
            st.caption("Copy it with the icon at the right of the box, or from the address bar: it is the same.")
            st.code(page_url.current_link(), language=None, wrap_lines=True)


_FONT_SIZE_IN_HTML = re.compile(r"font-size:\s*(\d+(?:\.\d+)?)px")


def _enlarged_html(text: str) -> str:
    return _FONT_SIZE_IN_HTML.sub(lambda m: f"font-size:{max(float(m.group(1)), MIN_CHART_FONT_PX):g}px", text)


def _font_patch(node: object, minimum: float) -> object:
    """The changes that raise every font size in a figure's JSON (`node`) to at least `minimum`, and every inline
    `font-size:..px` in its texts: a dict of only those paths, to `update` a layout or a trace with (its data arrays
    are neither copied nor validated again). Hover labels keep their size: they are read up close."""
    if isinstance(node, dict):
        patch = {}
        for key, value in node.items():
            if key == "hoverlabel":
                continue
            if key.endswith("font") and isinstance(value, dict):
                size = value.get("size")
                if isinstance(size, (int, float)) and size < minimum:
                    patch[key] = {"size": minimum}
                continue
            if key == "text" and isinstance(value, str) and _FONT_SIZE_IN_HTML.search(value):
                patch[key] = _enlarged_html(value)
                continue
            inner = _font_patch(value, minimum)
            if inner:
                patch[key] = inner
        return patch
    if isinstance(node, (list, tuple)) and node and all(isinstance(item, dict) for item in node):
        patches = [_font_patch(item, minimum) for item in node]
        return patches if any(patches) else None
    return None


def enlarge(fig: go.Figure) -> go.Figure:
    """A copy of `fig` for a projector: base font CHART_FONT_SIZE, titles CHART_TITLE_FONT_SIZE, every other text
    at least MIN_CHART_FONT_PX, margins that grow to fit the larger labels, and a taller chart."""
    enlarged = go.Figure(fig)
    layout = enlarged.layout.to_plotly_json()
    patch = _font_patch({key: value for key, value in layout.items() if key != "template"}, MIN_CHART_FONT_PX) or {}
    annotations = patch.pop("annotations", None)
    enlarged.update_layout(patch)
    if annotations:  # lists replace: apply each annotation's patch to it
        for annotation, change in zip(enlarged.layout.annotations, annotations):
            if change:
                annotation.update(change)
    title = layout.get("title", {})
    enlarged.update_layout(font_size=CHART_FONT_SIZE, title_font_size=max(CHART_TITLE_FONT_SIZE,
                                                                          title.get("font", {}).get("size", 0)))
    if title.get("subtitle", {}).get("text"):  # plotly.js draws a subtitle smaller than the title's size
        enlarged.update_layout(title_subtitle_font_size=MIN_CHART_FONT_PX)
    for trace in enlarged.data:
        change = _font_patch({key: value for key, value in trace.to_plotly_json().items()
                              if key in ("colorbar", "marker", "textfont", "legendgrouptitle", "title")},
                             MIN_CHART_FONT_PX)
        if change:
            trace.update(change)
    # Streamlit's chart theme sets tick and legend fonts in rem (0.75rem: 14 px here): explicit sizes win over it.
    for axes in (enlarged.update_xaxes, enlarged.update_yaxes):
        axes(automargin=True, tickfont_size=MIN_CHART_FONT_PX, title_font_size=CHART_FONT_SIZE)
    enlarged.update_layout(legend_font_size=MIN_CHART_FONT_PX, legend_title_font_size=MIN_CHART_FONT_PX)
    for annotation in enlarged.layout.annotations:
        annotation.font.size = max(annotation.font.size or 0, MIN_CHART_FONT_PX)
    for trace in enlarged.data:
        if "colorbar" in trace:
            trace.update(colorbar=dict(tickfont_size=MIN_CHART_FONT_PX, title_font_size=MIN_CHART_FONT_PX))
        if "textfont" in trace:
            trace.update(textfont_size=MIN_CHART_FONT_PX)
        marker = getattr(trace, "marker", None)
        if marker is not None and "colorbar" in marker and marker.showscale:
            trace.update(marker_colorbar=dict(tickfont_size=MIN_CHART_FONT_PX, title_font_size=MIN_CHART_FONT_PX))
    for name in enlarged.layout:
        if name.startswith("coloraxis"):
            enlarged.layout[name].update(colorbar=dict(tickfont_size=MIN_CHART_FONT_PX,
                                                       title_font_size=MIN_CHART_FONT_PX))
    height = fig.layout.height
    legend = enlarged.layout.legend
    if legend.orientation == "h" and legend.y is not None and legend.y < 0:
        # Below the plot at a fraction of its height, the larger axis title ran into it: pin it to the chart's foot
        # instead, with the room it needs (an axis title and two rows of legend at these sizes).
        legend.update(yref="container", y=0, yanchor="bottom")
        enlarged.update_layout(margin_b=max(enlarged.layout.margin.b or 0, LEGEND_BELOW_MARGIN_PX))
    if not height:
        height = CHART_HEIGHT
    elif height > 480:
        height = int(height * TALL_FIGURE_SCALE)
    else:  # a little taller for the larger labels, and still under the banner on a 720 px screen
        height = max(CHART_HEIGHT, height + 20)
    enlarged.update_layout(height=height)
    return enlarged


def figure(fig: go.Figure) -> go.Figure:
    """The chart enlarged for a projector in presenter mode (a copy: memoised figures stay as they are)."""
    return enlarge(fig) if on() else fig


def scroll_to(chart_key: str, token: str) -> None:
    """Ask the page to scroll so that the chart `chart_key` (its `charts.show` key) sits just under the sticky
    banner, once per `token` (a new step): a marker element that the watcher installed by `init` acts on (a script
    in an element Streamlit updates in place does not always run again; the marker's attributes always change)."""
    st.html(f'<div class="presenter-scroll-target" data-chart="{html.escape(chart_key)}" '
            f'data-token="{html.escape(token)}"></div>')


# Installed once per page: every 200 ms it looks for the marker `scroll_to` draws; for a token it has not handled it
# places the chart under the banner until it has stayed there for 1.5 s (the elements around it may still be
# drawing: above, they push it down; below, the page may not yet be long enough to scroll that far), and again
# after a resize (a projector's full-screen switch reflows the page). Up to 20 s on a busy server.
_SCROLL_WATCHER = f"""
<script>
(() => {{
  if (window.__presenterWatcher) return;
  window.__presenterWatcher = true;
  let handled = [-1, -1], handledKey = null, startedAt = 0, settledAt = null;
  const place = (key) => {{
    const chart = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
    if (!chart || chart.getBoundingClientRect().height < 50) return false;
    let scroller = chart.parentElement;
    while (scroller && !(scroller.scrollHeight > scroller.clientHeight &&
           ['auto', 'scroll'].includes(getComputedStyle(scroller).overflowY))) scroller = scroller.parentElement;
    scroller = scroller || document.scrollingElement;
    const banner = document.querySelector('.st-key-{BANNER_KEY}');
    const header = document.querySelector('[data-testid="stHeader"]');
    const top = Math.max(banner ? banner.getBoundingClientRect().bottom : 0,
                         header ? header.getBoundingClientRect().bottom : 0);
    const offset = chart.getBoundingClientRect().top - top - 8;
    if (Math.abs(offset) > 2) scroller.scrollBy({{top: offset, behavior: 'instant'}});
    // In place only once the page below has drawn enough to scroll that far.
    return Math.abs(chart.getBoundingClientRect().top - top - 8) <= 2;
  }};
  window.addEventListener('resize', () => {{ if (handledKey) {{ startedAt = Date.now(); settledAt = null; }} }});
  setInterval(() => {{
    // Tokens are "run-step" and only move forward: a marker an old redraw left behind never wins over the newest.
    for (const marker of document.querySelectorAll('.presenter-scroll-target')) {{
      const token = marker.dataset.token.split('-').map(Number);
      if (token[0] > handled[0] || (token[0] === handled[0] && token[1] > handled[1])) {{
        handled = token; handledKey = marker.dataset.chart; startedAt = Date.now(); settledAt = null;
      }}
    }}
    if (!startedAt || !handledKey) return;
    settledAt = place(handledKey) ? settledAt || Date.now() : null;
    if ((settledAt && Date.now() - settledAt > 1500) || Date.now() - startedAt > 20000) startedAt = 0;
  }}, 200);
}})();
</script>
"""
