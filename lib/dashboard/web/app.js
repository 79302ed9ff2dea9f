// The dashboard page: runs and their metrics lines arrive as server-sent events (everything on connect, then
// what runs append); the chosen metric is drawn for every run with the shared Vega-Lite specs, with an overview
// of key metrics, the runs' sample trajectories and their configs. vegaEmbed is the global of vega-embed's build.
import { metricChartSpec, seriesColors } from '/modules/chart-specs.js';
import { metricNames, metricPoints } from '/modules/metric-series.js';
import { TRAJECTORY_CSS, trajectoryHtml, trajectoryLegendHtml } from '/modules/trajectory-html.js';

/** Metrics shown in the overview when a run logged them, in this order (at most OVERVIEW_SIZE). */
const OVERVIEW = ['reward/mean', 'eval/em', 'eval/avg_em', 'deadend/rate', 'probe/kept', 'probe/kept_accuracy', 'train/loss', 'train/kl',
  'train/entropy', 'train/grad_norm', 'nll', 'lr', 'time/step_s'];
const OVERVIEW_SIZE = 6;
/** The first of these that a run logged is the metric shown first. */
const FIRST_METRIC = ['reward/mean', 'eval/em', 'nll', 'train/loss'];

const state = {
  /** name -> { info, lines } */
  runs: new Map(),
  hidden: new Set(),
  metric: new URLSearchParams(location.search).get('metric'),
  x: 'step',
  smoothing: 0.6,
  sampleRun: null,
  /** null: the latest step that has samples */
  sampleStep: null,
};
const views = { main: null, overview: new Map() };
let drawTimer = null;
let drawing = false;
let drawAgain = false;
let draws = 0;
let mainPoints = [];
let shownMetricNames = '';
let shownSamples = '';

const $ = (id) => document.getElementById(id);
const style = document.createElement('style');
style.textContent = TRAJECTORY_CSS;
document.head.append(style);

const runNames = () => [...state.runs.keys()];
const visibleRuns = () => [...state.runs.entries()].filter(([name]) => !state.hidden.has(name)).map(([run, r]) => ({ run, lines: r.lines }));
const allRuns = () => [...state.runs.entries()].map(([run, r]) => ({ run, lines: r.lines }));

function scheduleDraw() {
  if (drawTimer !== null) return;
  drawTimer = setTimeout(() => {
    drawTimer = null;
    void draw();
  }, 200);
}

async function embed(element, spec, previous) {
  previous?.finalize();
  return vegaEmbed(element, spec, { renderer: 'svg', actions: false });
}

function chartSpec(points, metric, width, height, legendColumns) {
  return metricChartSpec({ points, metric, x: state.x, smoothed: state.smoothing > 0, runs: runNames(), width, height, legendColumns });
}

async function draw() {
  if (drawing) {
    drawAgain = true;
    return;
  }
  drawing = true;
  try {
    renderRunList();
    renderMetricOptions();
    if (state.metric) {
      mainPoints = metricPoints(visibleRuns(), state.metric, state.smoothing);
      const element = $('main-chart');
      const width = Math.max(320, element.clientWidth - 80);
      views.main = await embed(element, chartSpec(mainPoints, state.metric, width, 320, Math.max(1, Math.floor(width / 280))), views.main);
    }
    await drawOverview();
    draws++;
  } catch (error) {
    console.warn('dashboard: drawing failed', error);
  } finally {
    drawing = false;
    if (drawAgain) {
      drawAgain = false;
      scheduleDraw();
    }
  }
}

async function drawOverview() {
  const available = new Set(metricNames(allRuns()));
  const metrics = OVERVIEW.filter((m) => available.has(m)).slice(0, OVERVIEW_SIZE);
  const grid = $('overview');
  if (metrics.join() !== [...views.overview.keys()].join()) {
    for (const entry of views.overview.values()) entry.view?.finalize();
    views.overview.clear();
    grid.replaceChildren();
    for (const metric of metrics) {
      const element = document.createElement('div');
      element.className = 'chart';
      element.title = `click to show ${metric} above`;
      element.addEventListener('click', () => selectMetric(metric));
      grid.append(element);
      views.overview.set(metric, { element, view: null });
    }
  }
  if (metrics.length === 0) grid.innerHTML = '<p class="muted">none of the usual metrics yet</p>';
  for (const [metric, entry] of views.overview) {
    entry.view = await embed(entry.element, chartSpec(metricPoints(visibleRuns(), metric, state.smoothing), metric, Math.max(240, entry.element.clientWidth - 80), 150, 0), entry.view);
  }
}

function selectMetric(metric) {
  state.metric = metric;
  $('metric').value = metric;
  scheduleDraw();
}

function renderMetricOptions() {
  const names = metricNames(allRuns());
  if (!state.metric || !names.includes(state.metric)) state.metric = FIRST_METRIC.find((m) => names.includes(m)) ?? names[0] ?? null;
  const key = names.join('\n');
  if (key === shownMetricNames) return;
  shownMetricNames = key;
  const select = $('metric');
  const groups = new Map();
  for (const name of names) {
    const group = name.includes('/') ? name.slice(0, name.indexOf('/')) : 'other';
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(name);
  }
  select.replaceChildren(...[...groups].map(([group, members]) => {
    const optgroup = document.createElement('optgroup');
    optgroup.label = group;
    optgroup.append(...members.map((name) => new Option(name, name)));
    return optgroup;
  }));
  if (state.metric) select.value = state.metric;
}

function renderRunList() {
  const names = runNames();
  const colors = seriesColors(names);
  const list = $('runs');
  if (names.length === 0) return;
  list.replaceChildren(...names.map((name, i) => {
    const run = state.runs.get(name);
    const item = document.createElement('li');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = !state.hidden.has(name);
    box.addEventListener('change', () => {
      if (box.checked) state.hidden.delete(name);
      else state.hidden.add(name);
      scheduleDraw();
    });
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = colors[i];
    const label = document.createElement('span');
    label.textContent = name;
    label.title = run.info.dir;
    const count = document.createElement('span');
    count.className = 'count';
    const last = run.lines.at(-1);
    count.textContent = last ? `step ${last.step}` : 'no lines yet';
    item.append(box, swatch, label, count);
    return item;
  }));
}

async function renderSamples() {
  const withSamples = runNames().filter((name) => state.runs.get(name).info.sampleSteps.length > 0);
  const runSelect = $('sample-run');
  const stepSelect = $('sample-step');
  if (withSamples.length === 0) return;
  if (!withSamples.includes(state.sampleRun)) state.sampleRun = withSamples.at(-1);
  runSelect.replaceChildren(...withSamples.map((name) => new Option(name, name)));
  runSelect.value = state.sampleRun;
  const steps = state.runs.get(state.sampleRun).info.sampleSteps;
  if (state.sampleStep !== null && !steps.includes(state.sampleStep)) state.sampleStep = null;
  stepSelect.replaceChildren(new Option(`latest (${steps.at(-1)})`, ''), ...[...steps].reverse().map((step) => new Option(String(step), String(step))));
  stepSelect.value = state.sampleStep === null ? '' : String(state.sampleStep);
  const step = state.sampleStep ?? steps.at(-1);
  const key = `${state.sampleRun}@${step}`;
  if (key === shownSamples) return;
  shownSamples = key;
  const response = await fetch(`/api/samples?run=${encodeURIComponent(state.sampleRun)}&step=${step}`);
  const samples = response.ok ? await response.json() : [];
  $('samples').innerHTML = samples.length === 0 ? '<p class="muted">no samples in this file</p>' : trajectoryLegendHtml() + samples.map(trajectoryHtml).join('');
}

function renderConfigs() {
  $('configs').replaceChildren(...runNames().map((name) => {
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = name;
    const pre = document.createElement('pre');
    pre.className = 'config';
    const config = state.runs.get(name).info.config;
    pre.textContent = config === null ? '(no config.json yet)' : JSON.stringify(config, null, 2);
    details.append(summary, pre);
    return details;
  }));
}

function connect() {
  const status = $('status');
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => {
    status.textContent = 'live';
    status.className = 'status live';
  });
  events.addEventListener('error', () => {
    status.textContent = 'reconnecting';
    status.className = 'status lost';
  });
  events.addEventListener('runs', (event) => {
    for (const info of JSON.parse(event.data)) {
      const run = state.runs.get(info.name);
      if (run) run.info = info;
      else state.runs.set(info.name, { info, lines: [] });
    }
    renderConfigs();
    void renderSamples();
    scheduleDraw();
  });
  events.addEventListener('metrics', (event) => {
    const { run: name, reset, lines } = JSON.parse(event.data);
    const run = state.runs.get(name);
    if (!run) return;
    if (reset) run.lines = lines;
    else run.lines.push(...lines);
    scheduleDraw();
  });
}

$('metric').addEventListener('change', (event) => selectMetric(event.target.value));
for (const radio of document.querySelectorAll('input[name=x]')) {
  radio.addEventListener('change', (event) => {
    state.x = event.target.value;
    scheduleDraw();
  });
}
$('smoothing').addEventListener('input', (event) => {
  state.smoothing = Number(event.target.value);
  $('smoothing-value').textContent = state.smoothing.toFixed(2);
  scheduleDraw();
});
$('sample-run').addEventListener('change', (event) => {
  state.sampleRun = event.target.value;
  state.sampleStep = null;
  void renderSamples();
});
$('sample-step').addEventListener('change', (event) => {
  state.sampleStep = event.target.value === '' ? null : Number(event.target.value);
  void renderSamples();
});

/** For tests and for poking at the page from the console. */
window.rexragDashboard = {
  get draws() {
    return draws;
  },
  metric: () => state.metric,
  mainPoints: () => mainPoints,
  selectMetric,
};
connect();
