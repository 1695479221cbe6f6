/**
 * Removes what deploy.js created, in the order that leaves nothing orphaned: the scaling policy and
 * scalable target (ignored when there are none), the endpoint, its endpoint config, and the model(s)
 * it served. Asks before deleting unless --yes. `--dry-run` prints the exact requests.
 *
 *   node dist/scripts/sagemaker/teardown.js --endpoint-name bge-reranker --yes
 */
import { createInterface } from 'node:readline/promises';
import { ApplicationAutoScalingClient, DeleteScalingPolicyCommand, DeregisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import {
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  SageMakerClient,
  waitUntilEndpointDeleted,
} from '@aws-sdk/client-sagemaker';
import { autoscalingTeardownRequests } from './autoscaling';
import { formatDryRun, parseFlags, regionFor, required, requireFlags, resourceName, runCli, UsageError, type ApiRequest } from './cliArgs';

export const TEARDOWN_USAGE = `Usage: node dist/scripts/sagemaker/teardown.js --endpoint-name NAME [options]

  --endpoint-name NAME     the endpoint to delete
  --endpoint-config NAME   its endpoint config (default: read with DescribeEndpoint)
  --model NAME             a model to delete, repeatable (default: the config's variants' models,
                           read with DescribeEndpointConfig)
  --variant NAME           the variant whose scaling policy goes first (default AllTraffic)
  --keep-model             delete the endpoint and config, keep the model(s)
  --region REGION          AWS region (default: the SDK's usual lookup)
  --yes                    do not ask before deleting (needed when stdin is not a terminal)
  --dry-run                print the requests as JSON and send nothing; needs --endpoint-config
                           and --model, which a live run reads from the endpoint itself
`;

export interface TeardownPlan {
  readonly endpointName: string;
  readonly endpointConfigName: string;
  readonly modelNames: readonly string[];
  readonly variantName: string;
}

export function teardownRequests(p: TeardownPlan): ApiRequest[] {
  return [
    ...autoscalingTeardownRequests(p.endpointName, p.variantName),
    { command: 'DeleteEndpoint', input: { EndpointName: p.endpointName } },
    { command: 'DeleteEndpointConfig', input: { EndpointConfigName: p.endpointConfigName } },
    ...p.modelNames.map((m) => ({ command: 'DeleteModel', input: { ModelName: m } })),
  ];
}

export interface TeardownCli {
  readonly endpointName: string;
  readonly endpointConfigName: string | undefined;
  readonly modelNames: readonly string[] | undefined;
  readonly variantName: string;
  readonly keepModel: boolean;
  readonly region: string | undefined;
  readonly yes: boolean;
  readonly dryRun: boolean;
}

export function parseTeardownArgs(argv: readonly string[]): TeardownCli {
  const v = parseFlags(argv, {
    'endpoint-name': { type: 'string' },
    'endpoint-config': { type: 'string' },
    model: { type: 'string', multiple: true },
    variant: { type: 'string' },
    'keep-model': { type: 'boolean' },
    region: { type: 'string' },
    yes: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
  });
  requireFlags(v, ['endpoint-name']);
  const cli: TeardownCli = {
    endpointName: resourceName(required(v['endpoint-name'], '--endpoint-name', 'the endpoint to delete'), '--endpoint-name'),
    endpointConfigName: v['endpoint-config'] === undefined ? undefined : resourceName(v['endpoint-config'], '--endpoint-config'),
    modelNames: v.model?.map((m) => resourceName(m, '--model')),
    variantName: resourceName(v.variant ?? 'AllTraffic', '--variant'),
    keepModel: v['keep-model'] ?? false,
    region: regionFor(v.region, undefined),
    yes: v.yes ?? false,
    dryRun: v['dry-run'] ?? false,
  };
  if (cli.keepModel && cli.modelNames) throw new UsageError('--keep-model and --model exclude each other');
  if (cli.dryRun && (!cli.endpointConfigName || (!cli.modelNames && !cli.keepModel))) {
    throw new UsageError('--dry-run sends nothing, so it cannot look the names up: give --endpoint-config and --model (or --keep-model)');
  }
  return cli;
}

const notFound = (e: unknown): boolean => /ObjectNotFound|ValidationException|ResourceNotFound|Could not find/i.test(`${(e as Error).name} ${(e as Error).message}`);

async function confirm(plan: TeardownPlan): Promise<boolean> {
  if (!process.stdin.isTTY) throw new UsageError('stdin is not a terminal: pass --yes to delete without asking');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const what = [`endpoint ${plan.endpointName}`, `endpoint config ${plan.endpointConfigName}`, ...plan.modelNames.map((m) => `model ${m}`)].join(', ');
  const answer = await rl.question(`Delete ${what}? Type the endpoint name to confirm: `);
  rl.close();
  return answer.trim() === plan.endpointName;
}

export async function teardown(argv: readonly string[]): Promise<void> {
  const cli = parseTeardownArgs(argv);
  const sm = new SageMakerClient(cli.region ? { region: cli.region } : {});
  let configName = cli.endpointConfigName;
  let models = cli.keepModel ? [] : cli.modelNames;
  if (!cli.dryRun && (!configName || !models)) {
    configName ??= (await sm.send(new DescribeEndpointCommand({ EndpointName: cli.endpointName }))).EndpointConfigName;
    if (!configName) throw new Error(`endpoint ${cli.endpointName} names no endpoint config`);
    models ??= ((await sm.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName }))).ProductionVariants ?? []).flatMap((pv) => (pv.ModelName ? [pv.ModelName] : []));
  }
  const plan: TeardownPlan = { endpointName: cli.endpointName, endpointConfigName: configName!, modelNames: models ?? [], variantName: cli.variantName };
  const requests = teardownRequests(plan);
  if (cli.dryRun) {
    process.stdout.write(`${formatDryRun(requests)}\n`);
    return;
  }
  if (!cli.yes && !(await confirm(plan))) {
    process.stderr.write('not confirmed: nothing deleted\n');
    process.exitCode = 1;
    return;
  }
  const scaling = new ApplicationAutoScalingClient(cli.region ? { region: cli.region } : {});
  for (const r of requests) {
    const input = r.input as never;
    try {
      switch (r.command) {
        case 'DeleteScalingPolicy':
          await scaling.send(new DeleteScalingPolicyCommand(input));
          break;
        case 'DeregisterScalableTarget':
          await scaling.send(new DeregisterScalableTargetCommand(input));
          break;
        case 'DeleteEndpoint':
          await sm.send(new DeleteEndpointCommand(input));
          // The config may not go while the endpoint still uses it.
          await waitUntilEndpointDeleted({ client: sm, maxWaitTime: 1800, minDelay: 10, maxDelay: 30 }, { EndpointName: plan.endpointName });
          break;
        case 'DeleteEndpointConfig':
          await sm.send(new DeleteEndpointConfigCommand(input));
          break;
        case 'DeleteModel':
          await sm.send(new DeleteModelCommand(input));
          break;
      }
      process.stderr.write(`${r.command}: done\n`);
    } catch (e) {
      // An endpoint deployed without --autoscale has no policy: nothing to remove is fine there.
      if (notFound(e) && (r.command === 'DeleteScalingPolicy' || r.command === 'DeregisterScalableTarget')) {
        process.stderr.write(`${r.command}: none\n`);
        continue;
      }
      throw e;
    }
  }
}

if (require.main === module) runCli(TEARDOWN_USAGE, teardown);
