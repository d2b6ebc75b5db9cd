// The AWS CDK peer of Rampart's stack (infra/stack.py + components/), for bench/bench_peer.py:
// `node bench/cdk/app.js N OUTDIR` builds the stack with N blue/green services, synthesizes it in-process
// (what `cdk synth` runs, without the CLI) with cdk-nag's AwsSolutionsChecks applied, and prints one JSON line:
// {"services", "resources" (CloudFormation resources synthesized), "nagErrors", "nagWarnings"}.
// Written as a CDK user would write it (L2 constructs where they exist, L1 where they do not). GitHub resources
// (repository rules, environments, variables) have no CloudFormation equivalent and are left out; the CI roles
// and OIDC provider are in.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const cdk = require('aws-cdk-lib');
const { Construct } = require('constructs');
const { AwsSolutionsChecks } = require('cdk-nag');
const ec2 = require('aws-cdk-lib/aws-ec2');
const ecs = require('aws-cdk-lib/aws-ecs');
const ecr = require('aws-cdk-lib/aws-ecr');
const elbv2 = require('aws-cdk-lib/aws-elasticloadbalancingv2');
const iam = require('aws-cdk-lib/aws-iam');
const kms = require('aws-cdk-lib/aws-kms');
const logs = require('aws-cdk-lib/aws-logs');
const rds = require('aws-cdk-lib/aws-rds');
const s3 = require('aws-cdk-lib/aws-s3');
const sns = require('aws-cdk-lib/aws-sns');
const subs = require('aws-cdk-lib/aws-sns-subscriptions');
const secretsmanager = require('aws-cdk-lib/aws-secretsmanager');
const codedeploy = require('aws-cdk-lib/aws-codedeploy');
const cloudwatch = require('aws-cdk-lib/aws-cloudwatch');
const backup = require('aws-cdk-lib/aws-backup');
const wafv2 = require('aws-cdk-lib/aws-wafv2');

const PREFIX = 'rampart-bench';
const PERIOD = cdk.Duration.seconds(60);

function shared(stack) {
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true, alias: `alias/${PREFIX}` });
  const copyKey = new kms.Key(stack, 'CopyKey', { enableKeyRotation: true, alias: `alias/${PREFIX}-copy` });
  const flowLogs = new logs.LogGroup(stack, 'FlowLogs', { retention: logs.RetentionDays.ONE_YEAR, encryptionKey: key });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
    availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    natGateways: 3,
    restrictDefaultSecurityGroup: false,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 },
      { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
    ],
    flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) } },
  });
  for (const service of ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager']) {
    vpc.addInterfaceEndpoint(`Endpoint-${service}`, { service: new ec2.InterfaceVpcEndpointAwsService(service) });
  }
  vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3 });

  const topic = new sns.Topic(stack, 'Alarms', { masterKey: key, enforceSSL: true });
  topic.addSubscription(new subs.EmailSubscription('ops@example.com'));
  const secrets = ['api-token', 'signing-key'].map((name) =>
    new secretsmanager.Secret(stack, `Secret-${name}`, { secretName: `${PREFIX}/${name}`, encryptionKey: key }));

  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
  cluster.enableFargateCapacityProviders();

  const logBucket = new s3.Bucket(stack, 'AlbLogs', {
    encryption: s3.BucketEncryption.S3_MANAGED, blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true, versioned: true, objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ expiration: cdk.Duration.days(90) }],
  });
  const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', {
    vpc, internetFacing: true, deletionProtection: true, dropInvalidHeaderFields: true,
    idleTimeout: cdk.Duration.seconds(60), vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
  });
  alb.logAccessLogs(logBucket);
  const certificates = [elbv2.ListenerCertificate.fromArn('arn:aws:acm:us-east-1:123456789012:certificate/bench')];
  const fixed = elbv2.ListenerAction.fixedResponse(404, { contentType: 'text/plain', messageBody: 'not found' });
  const production = alb.addListener('Https', { port: 443, certificates, sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
    defaultAction: fixed, open: true });
  const test = alb.addListener('Test', { port: 8443, certificates, sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
    defaultAction: fixed, open: false });
  alb.addRedirect({ sourcePort: 80, targetPort: 443 });

  const wafLogs = new logs.LogGroup(stack, 'WafLogs', { logGroupName: `aws-waf-logs-${PREFIX}`,
    retention: logs.RetentionDays.ONE_YEAR, encryptionKey: key });
  const acl = new wafv2.CfnWebACL(stack, 'WebAcl', {
    scope: 'REGIONAL', defaultAction: { allow: {} },
    visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: PREFIX, sampledRequestsEnabled: true },
    rules: ['AWSManagedRulesCommonRuleSet', 'AWSManagedRulesKnownBadInputsRuleSet'].map((name, priority) => ({
      name, priority, overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: name, sampledRequestsEnabled: true },
    })),
  });
  new wafv2.CfnWebACLAssociation(stack, 'WebAclAssociation', { resourceArn: alb.loadBalancerArn,
    webAclArn: acl.attrArn });
  new wafv2.CfnLoggingConfiguration(stack, 'WebAclLogging', { resourceArn: acl.attrArn,
    logDestinationConfigs: [wafLogs.logGroupArn] });

  const smokeLogs = new logs.LogGroup(stack, 'SmokeLogs', { retention: logs.RetentionDays.ONE_YEAR, encryptionKey: key });
  const smoke = new ecs.FargateTaskDefinition(stack, 'Smoke', { cpu: 256, memoryLimitMiB: 512 });
  smoke.addContainer('smoke', { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/curl:8'),
    logging: ecs.LogDrivers.awsLogs({ logGroup: smokeLogs, streamPrefix: 'smoke' }) });
  new ec2.SecurityGroup(stack, 'SmokeSg', { vpc, allowAllOutbound: false, description: 'smoke runner' })
    .addEgressRule(ec2.Peer.ipv4('10.40.0.0/16'), ec2.Port.tcp(8443));

  return { key, copyKey, vpc, topic, secrets, cluster, alb, production, test, smoke };
}

function database(stack, base, serviceGroups) {
  const sg = new ec2.SecurityGroup(stack, 'DbSg', { vpc: base.vpc, allowAllOutbound: false, description: 'database' });
  for (const [i, group] of serviceGroups.entries()) {
    sg.addIngressRule(ec2.Peer.securityGroupId(group.securityGroupId), ec2.Port.tcp(5432), `service ${i + 1}`);
  }
  const db = new rds.DatabaseInstance(stack, 'Db', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
    vpc: base.vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, securityGroups: [sg],
    instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM), multiAz: true,
    storageEncrypted: true, storageEncryptionKey: base.key, deletionProtection: true, backupRetention: cdk.Duration.days(0),
    iamAuthentication: true, removalPolicy: cdk.RemovalPolicy.SNAPSHOT, cloudwatchLogsExports: ['postgresql'],
    parameterGroup: new rds.ParameterGroup(stack, 'DbParams', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      parameters: { 'rds.force_ssl': '1', log_connections: '1' },
    }),
    credentials: rds.Credentials.fromGeneratedSecret('postgres', { encryptionKey: base.key }),
  });
  new cloudwatch.Alarm(stack, 'DbCpu', { metric: db.metricCPUUtilization({ period: PERIOD }), threshold: 80,
    evaluationPeriods: 3, treatMissingData: cloudwatch.TreatMissingData.BREACHING });
  const vault = new backup.BackupVault(stack, 'Vault', { encryptionKey: base.key });
  const copyVault = new backup.BackupVault(stack, 'CopyVault', { encryptionKey: base.copyKey });
  const plan = new backup.BackupPlan(stack, 'Plan', { backupVault: vault });
  plan.addRule(new backup.BackupPlanRule({ ruleName: 'daily', scheduleExpression: cdk.aws_events.Schedule.cron({ minute: '0', hour: '3' }),
    deleteAfter: cdk.Duration.days(35), enableContinuousBackup: true,
    copyActions: [{ destinationBackupVault: copyVault, deleteAfter: cdk.Duration.days(35) }] }));
  plan.addSelection('Db', { resources: [backup.BackupResource.fromRdsDatabaseInstance(db)] });
  return db;
}

function alarm(scope, id, props) {
  return new cloudwatch.Alarm(scope, id, { evaluationPeriods: 3, datapointsToAlarm: 2, actionsEnabled: true, ...props });
}

function service(stack, base, index) {
  const name = `svc${index}`;
  const scope = new Construct(stack, name);
  // Shared resources imported by ARN, as across stacks a grant would otherwise edit the shared stack's key and
  // secret policies and make it depend on every service stack (a cycle).
  const key = kms.Key.fromKeyArn(scope, 'KeyRef', base.key.keyArn);
  const secrets = base.secrets.map((s, i) => secretsmanager.Secret.fromSecretCompleteArn(scope, `SecretRef${i}`, s.secretArn));
  const repository = new ecr.Repository(scope, 'Repo', { imageScanOnPush: true, imageTagMutability: ecr.TagMutability.IMMUTABLE,
    encryption: ecr.RepositoryEncryption.KMS, encryptionKey: key,
    lifecycleRules: [{ maxImageCount: 50, description: 'keep rollback targets' }] });
  const logGroup = new logs.LogGroup(scope, 'Logs', { retention: logs.RetentionDays.THREE_MONTHS, encryptionKey: key });
  const executionRole = new iam.Role(scope, 'ExecutionRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
  const taskRole = new iam.Role(scope, 'TaskRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
  const task = new ecs.FargateTaskDefinition(scope, 'Task', { cpu: 512, memoryLimitMiB: 1024, executionRole, taskRole,
    runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX } });
  task.addContainer('app', {
    image: ecs.ContainerImage.fromEcrRepository(repository, 'bench'), readonlyRootFilesystem: true, user: '1000',
    portMappings: [{ containerPort: 8080 }], logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: name }),
    secrets: Object.fromEntries(secrets.map((s, i) => [`SECRET_${i}`, ecs.Secret.fromSecretsManager(s)])),
    healthCheck: { command: ['CMD-SHELL', 'wget -qO- localhost:8080/healthz || exit 1'] },
  });
  const securityGroup = new ec2.SecurityGroup(scope, 'Sg', { vpc: base.vpc, allowAllOutbound: false, description: name });
  securityGroup.connections.allowFrom(base.alb, ec2.Port.tcp(8080));
  securityGroup.addEgressRule(ec2.Peer.ipv4('10.40.0.0/16'), ec2.Port.tcp(443));
  securityGroup.addEgressRule(ec2.Peer.ipv4('10.40.0.0/16'), ec2.Port.tcp(5432));
  const fargate = new ecs.FargateService(scope, 'Service', {
    cluster: base.cluster, taskDefinition: task, desiredCount: 2, securityGroups: [securityGroup],
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, assignPublicIp: false,
    deploymentController: { type: ecs.DeploymentControllerType.CODE_DEPLOY }, enableExecuteCommand: false,
  });
  const groups = ['blue', 'green'].map((colour) => new elbv2.ApplicationTargetGroup(scope, `Tg-${colour}`, {
    vpc: base.vpc, port: 8080, protocol: elbv2.ApplicationProtocol.HTTP, targetType: elbv2.TargetType.IP,
    healthCheck: { path: '/healthz', healthyThresholdCount: 2 }, deregistrationDelay: cdk.Duration.seconds(30) }));
  fargate.attachToApplicationTargetGroup(groups[0]);
  const conditions = [elbv2.ListenerCondition.pathPatterns([`/${name}/*`])];
  new elbv2.ApplicationListenerRule(scope, 'ProdRule', { listener: base.production, priority: 100 + index, conditions,
    targetGroups: [groups[0]] });
  new elbv2.ApplicationListenerRule(scope, 'TestRule', { listener: base.test, priority: 100 + index, conditions,
    targetGroups: [groups[1]] });
  const scaling = fargate.autoScaleTaskCount({ minCapacity: 2, maxCapacity: 6 });
  scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });

  const alarms = [];
  for (const [colour, group] of [['blue', groups[0]], ['green', groups[1]]]) {
    const dims = { LoadBalancer: base.alb.loadBalancerFullName, TargetGroup: group.targetGroupFullName };
    const metric = (metricName, statistic) => new cloudwatch.Metric({ namespace: 'AWS/ApplicationELB', metricName,
      dimensionsMap: dims, period: PERIOD, statistic });
    alarms.push(alarm(scope, `Rate5xx-${colour}`, { threshold: 5, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      metric: new cloudwatch.MathExpression({ expression: 'IF(FILL(requests, 0) > 0, 100 * FILL(errors, 0) / FILL(requests, 0), 0)',
        usingMetrics: { errors: metric('HTTPCode_Target_5XX_Count', 'Sum'), requests: metric('RequestCount', 'Sum') },
        period: PERIOD }) }));
    alarms.push(alarm(scope, `P95-${colour}`, { threshold: 1.5, metric: metric('TargetResponseTime', 'p95'),
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING }));
    alarms.push(alarm(scope, `Unhealthy-${colour}`, { threshold: 0, metric: metric('UnHealthyHostCount', 'Maximum'),
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING }));
  }
  alarms.push(alarm(scope, 'RunningTasks', { threshold: 2, comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING, metric: new cloudwatch.Metric({ namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount', statistic: 'Minimum', period: PERIOD,
      dimensionsMap: { ClusterName: base.cluster.clusterName, ServiceName: fargate.serviceName } }) }));

  const application = new codedeploy.EcsApplication(scope, 'App');
  const deploymentConfig = new codedeploy.EcsDeploymentConfig(scope, 'Config', {
    trafficRouting: new codedeploy.TimeBasedCanaryTrafficRouting({ interval: cdk.Duration.minutes(5), percentage: 10 }) });
  new codedeploy.EcsDeploymentGroup(scope, 'Group', {
    application, service: fargate, deploymentConfig, alarms,
    blueGreenDeploymentConfig: { blueTargetGroup: groups[0], greenTargetGroup: groups[1], listener: base.production,
      testListener: base.test, terminationWaitTime: cdk.Duration.minutes(15) },
    autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
  });
  return securityGroup;
}

function ciAccess(stack) {
  const provider = new iam.CfnOIDCProvider(stack, 'GithubOidc', { url: 'https://token.actions.githubusercontent.com',
    clientIdList: ['sts.amazonaws.com'] });
  for (const job of ['deploy-staging', 'deploy-production', 'preview', 'rollback', 'drift']) {
    const role = new iam.Role(stack, `Ci-${job}`, { assumedBy: new iam.WebIdentityPrincipal(provider.attrArn, {
      StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
        'token.actions.githubusercontent.com:sub': `repo:example/rampart:environment:${job}` } }) });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['ecs:DescribeServices', 'codedeploy:CreateDeployment'],
      resources: ['*'] }));
  }
}

// CloudFormation takes at most 500 resources per stack; a CDK user splits the services over stacks of ten
// (about 280 resources each) and keeps the network, the load balancer and the data in their own stacks.
const SERVICES_PER_STACK = 10;

function build(services) {
  // Violations are counted from the validation report below rather than failing the synth, as `rampart check`
  // reports rather than crashes.
  const app = new cdk.App({ outdir: process.argv[3] || undefined,
    context: { '@aws-cdk/core:failSynthOnValidationErrors': false } });
  const env = { account: '123456789012', region: 'us-east-1' };
  const base = shared(new cdk.Stack(app, 'RampartPeer', { env }));
  const groups = [];
  let stack;
  for (let i = 1; i <= services; i += 1) {
    if ((i - 1) % SERVICES_PER_STACK === 0) {
      stack = new cdk.Stack(app, `RampartPeerServices${(i - 1) / SERVICES_PER_STACK + 1}`, { env });
    }
    groups.push(service(stack, base, i));
  }
  const data = new cdk.Stack(app, 'RampartPeerData', { env });
  database(data, base, groups);
  ciAccess(data);
  cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

function main() {
  const services = Number.parseInt(process.argv[2] || '1', 10);
  const assembly = build(services).synth();
  const resources = assembly.stacks.reduce((n, s) => n + Object.keys(s.template.Resources || {}).length, 0);
  const report = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf-8'));
  const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions') || { violations: [] };
  const findings = nag.violations.reduce((n, v) => n + (v.violatingResources || v.violatingConstructs || [1]).length, 0);
  process.stdout.write(`${JSON.stringify({ services, stacks: assembly.stacks.length, resources,
    nagRules: nag.violations.length, nagFindings: findings, plugins: report.pluginReports.map((r) => r.pluginName) })}\n`);
}

main();
