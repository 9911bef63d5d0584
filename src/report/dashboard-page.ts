import { escapeMarkup as esc } from './escape-markup.js';

const STYLE = `
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.5em; border-bottom: 1px solid #ddd; } h3 { font-size: 1em; }
.note { color: #666; font-size: 0.85em; } .failed { color: #b00020; }
.run { border: 1px solid #ddd; border-radius: 4px; padding: 0.3em 0.8em; margin: 0.6em 0; } .run.selected { border-color: #4e79a7; }
.stage { margin: 0.5em 0; } .bar { background: #eee; height: 6px; width: 600px; max-width: 100%; margin: 3px 0; }
.bar div { background: #4e79a7; height: 6px; }
.state.running { color: #b07a00; } .state.completed { color: #2e7d32; } .state.failed, .state.lost { color: #b00020; }
.legend span { margin-right: 0.8em; font-size: 0.8em; } .legend i { display: inline-block; width: 9px; height: 9px; margin-right: 3px; }
table { border-collapse: collapse; font-size: 0.85em; } th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; }
figure { margin: 0.8em 0; } svg { max-width: 100%; height: auto; }
#live { font-size: 0.8em; color: #666; }
`;

/**
 * The dashboard's page: a shell whose script fetches the server-rendered body every
 * `refreshMs` and swaps it in. No build step, no framework, nothing fetched from elsewhere.
 */
export function renderDashboardPage(refreshMs: number): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fiber dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<h1>fiber dashboard <span id="live">connecting…</span></h1>
<main id="body"><p class="note">Loading…</p></main>
<script>
const run = new URLSearchParams(location.search).get('run');
const url = '/fragment' + (run ? '?run=' + encodeURIComponent(run) : '');
let count = 0;
async function refresh() {
  try {
    const res = await fetch(url, { cache: 'no-store' });
    if (!res.ok) throw new Error(res.status + ' ' + (await res.text()));
    document.getElementById('body').innerHTML = await res.text();
    document.getElementById('live').textContent = 'live · refresh ' + (++count);
    document.body.dataset.refreshes = String(count);
  } catch (err) {
    document.getElementById('live').textContent = 'cannot reach the dashboard server: ' + err.message;
  }
  setTimeout(refresh, ${esc(String(Math.max(200, Math.round(refreshMs))))});
}
refresh();
</script>
</body>
</html>
`;
}
