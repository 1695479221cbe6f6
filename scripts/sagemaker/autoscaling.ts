/**
 * Endpoint autoscaling requests (Application Auto Scaling): the scalable target for a variant's
 * instance count and one target-tracking policy, either on SageMaker's own
 * SageMakerVariantInvocationsPerInstance or on the container's EMF metric QueuedPairs (the pairs
 * waiting per instance, a direct measure of overload that invocation counts miss when request sizes
 * vary). Teardown's counterparts are here too, so names are made in one place.
 */
import type { PutScalingPolicyCommandInput, RegisterScalableTargetCommandInput } from '@aws-sdk/client-application-auto-scaling';
import type { ApiRequest } from './cliArgs';
import { UsageError } from './cliArgs';

export const SCALABLE_DIMENSION = 'sagemaker:variant:DesiredInstanceCount';
/** The namespace the container's EMF lines use unless METRICS_EMF_NAMESPACE says otherwise. */
export const EMF_NAMESPACE = 'SageMakerReranker';

export type ScaleOn = 'invocations' | 'queue';

export interface AutoscaleOptions {
  readonly min: number;
  readonly max: number;
  readonly scaleOn: ScaleOn;
  /** Invocations per instance per minute, or average queued pairs per instance. */
  readonly target: number;
  readonly scaleInCooldownSeconds: number;
  readonly scaleOutCooldownSeconds: number;
}

export interface ScalingNames {
  readonly endpointName: string;
  readonly variantName: string;
  /** The EMF Model dimension (the container's MODEL_NAME). */
  readonly modelDimension: string;
  readonly namespace: string;
}

export const resourceId = (endpoint: string, variant: string): string => `endpoint/${endpoint}/variant/${variant}`;
export const policyName = (endpoint: string, variant: string): string => `${endpoint}-${variant}-target-tracking`;

export function autoscalingRequests(a: AutoscaleOptions, n: ScalingNames, allowZero: boolean): ApiRequest[] {
  if (a.min > a.max) throw new UsageError(`--autoscale MIN:MAX needs MIN <= MAX, got ${a.min}:${a.max}`);
  if (a.min === 0 && !allowZero) throw new UsageError('--autoscale MIN 0 needs --async: real-time endpoints keep at least one instance');
  if (a.max === 0) throw new UsageError('--autoscale MAX must be at least 1');
  if (!(a.target > 0)) throw new UsageError('--target must be above 0');
  const id = resourceId(n.endpointName, n.variantName);
  const register: RegisterScalableTargetCommandInput = {
    ServiceNamespace: 'sagemaker',
    ResourceId: id,
    ScalableDimension: SCALABLE_DIMENSION,
    MinCapacity: a.min,
    MaxCapacity: a.max,
  };
  const metric =
    a.scaleOn === 'invocations'
      ? { PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' as const } }
      : {
          CustomizedMetricSpecification: {
            Namespace: n.namespace,
            MetricName: 'QueuedPairs',
            // Every instance writes a datapoint per interval with these dimensions: Average is per instance.
            Dimensions: [
              { Name: 'EndpointName', Value: n.endpointName },
              { Name: 'VariantName', Value: n.variantName },
              { Name: 'Model', Value: n.modelDimension },
            ],
            Statistic: 'Average' as const,
            Unit: 'Count',
          },
        };
  const policy: PutScalingPolicyCommandInput = {
    PolicyName: policyName(n.endpointName, n.variantName),
    ServiceNamespace: 'sagemaker',
    ResourceId: id,
    ScalableDimension: SCALABLE_DIMENSION,
    PolicyType: 'TargetTrackingScaling',
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: a.target,
      ...metric,
      ScaleInCooldown: a.scaleInCooldownSeconds,
      ScaleOutCooldown: a.scaleOutCooldownSeconds,
    },
  };
  return [
    { command: 'RegisterScalableTarget', input: register },
    { command: 'PutScalingPolicy', input: policy },
  ];
}

export function autoscalingTeardownRequests(endpointName: string, variantName: string): ApiRequest[] {
  const id = resourceId(endpointName, variantName);
  return [
    { command: 'DeleteScalingPolicy', input: { PolicyName: policyName(endpointName, variantName), ServiceNamespace: 'sagemaker', ResourceId: id, ScalableDimension: SCALABLE_DIMENSION } },
    { command: 'DeregisterScalableTarget', input: { ServiceNamespace: 'sagemaker', ResourceId: id, ScalableDimension: SCALABLE_DIMENSION } },
  ];
}
