// A training script's MLflow session through the npm `mlflow` client (a third party's, used unchanged): create an
// experiment, start a run, log parameters, metrics and a batch, tag it, read it back, its metric history, search, finish.
// Usage: node mlflow-session.mjs <tracking uri> <bearer token> <experiment name> <result file>
// The client prints every request body on stdout; the calls' answers go to <result file> as one JSON document.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const MLflow = createRequire(import.meta.url)('mlflow');
const [endpoint, token, name, out] = process.argv.slice(2);
const client = new MLflow({ endpoint, headers: { Authorization: `Bearer ${token}` } });
const { Experiments, Runs, Metrics } = client;
const result = {};
try {
  const { experiment_id } = await Experiments.create({ name });
  result.experiment = (await Experiments.get({ experiment_id })).experiment;
  const { run } = await Runs.create({ experiment_id, start_time: Date.now(), tags: [{ key: 'mlflow.source.name', value: 'train.js' }] });
  const run_id = run.info.run_id;
  await Runs.logParameter({ run_id, key: 'lr', value: '0.01' });
  for (let step = 1; step <= 3; step++)
    await Runs.logMetric({ run_id, key: 'loss', value: 1 / step, timestamp: Date.now(), step });
  await Runs.logBatch({ run_id, metrics: [{ key: 'hr_at_10', value: 0.42, timestamp: Date.now(), step: 3 }], params: [{ key: 'epochs', value: '3' }],
    tags: [{ key: 'stage', value: 'eval' }] });
  await Runs.setTag({ run_id, key: 'team', value: 'recsys' });
  result.history = (await Metrics.getHistory({ run_id, metric_key: 'loss' })).metrics;
  result.search = (await Runs.search({ experiment_ids: [experiment_id], filter: "metrics.loss < 0.5 AND params.lr = '0.01'", order_by: ['metrics.loss ASC'] })).runs;
  result.finished = (await Runs.update({ run_id, status: 'FINISHED', end_time: Date.now() })).run_info;
  result.run = (await Runs.get({ run_id })).run;
  result.listed = (await Experiments.list()).experiments.map(e => e.name);
  try {
    await Runs.get({ run_id: 'not-a-run' });
  } catch (e) {
    result.error = JSON.parse(e.message.replace(/^Error: /, ''));
  }
} catch (e) {
  result.failed = String(e.message ?? e);
}
writeFileSync(out, JSON.stringify(result));
