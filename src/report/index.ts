/**
 * `fiber report`: a run's metrics as a self-contained HTML page plus PNG charts. Importing this
 * loads sharp; the CLI imports it lazily.
 */
export { collectRunMetrics, type RunMetrics, type StageMetrics } from './collect-run-metrics.js';
export { ema } from './ema.js';
export { lineChartSvg, type ChartOptions, type ChartPoint, type ChartSeries } from './line-chart-svg.js';
export { parseEvalRecord, parseStepMetric, type EvalRecord, type StepMetric } from './metric-lines.js';
export { renderReportHtml, type ReportData } from './render-report-html.js';
export { stageCharts, type ReportChart } from './report-charts.js';
export { stageSummary, type StageSummary } from './stage-summary.js';
export { writeReport, type ReportResult, type WriteReportOptions } from './write-report.js';
