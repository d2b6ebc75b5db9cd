// A platform team's stack in TypeScript, built from Rampart's components through the rampart component package
// (`pulumi package add ../../provider`). Type-checked against the package's schema by
// tests/package/test_typescript_example.py; never deployed from this repository.
import * as pulumi from "@pulumi/pulumi";
import * as rampart from "@pulumi/rampart";

const config = new pulumi.Config();
const environment = pulumi.getStack();
const region = config.get("region") ?? "us-east-1";
const azCount = 2;

// A list the provider returns arrives whole (Output<string[]>), but a component's list inputs are plain lists of
// inputs: their length decides what the component builds and is checked before anything is created. The caller
// chose the count (azCount), so it can index the list.
function each(ids: pulumi.Output<string[]>, count: number): pulumi.Output<string>[] {
    return Array.from({ length: count }, (_, i) => ids.apply((all) => all[i]));
}

const key = new rampart.StackKey("platform", {
    description: `platform ${environment}: logs, topics, images, database`,
    accountId: config.require("accountId"),
    region,
    alias: `platform-${environment}`,
    protect: environment === "production",
    eventbridgePublishes: true,
});

const network = new rampart.Network("platform", {
    cidr: "10.40.0.0/16",
    azCount,
    natGateways: environment === "production" ? azCount : 1,
    flowLogRetentionDays: 90,
    kmsKeyArn: key.keyArn,
});

const notifications = new rampart.Notifications("platform", {
    kmsKeyArn: key.keyArn,
    emails: ["oncall@example.com"],
    eventbridgePublishes: true,
});

const cluster = new rampart.Cluster("platform", { containerInsights: "enhanced" });

const alb = new rampart.LoadBalancer("platform", {
    vpcId: network.vpcId,
    vpcCidr: network.vpcCidr,
    publicSubnetIds: each(network.publicSubnetIds, azCount),
    certificateArn: config.require("certificateArn"),
    sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
    testListenerPort: 8443,
    accessLogRetentionDays: 90,
    idleTimeoutSeconds: 60,
    deletionProtection: environment === "production",
    // The smoke test runs inside the VPC and reaches the test listener through the NAT gateways.
    testSourceIps: each(network.natPublicIps, environment === "production" ? azCount : 1),
});

const api = new rampart.BlueGreenService("api", {
    service: {
        name: "api",
        image: config.require("image"),
        cpu: 512,
        memory: 1024,
        desiredCount: 2,
        containerPort: 8080,
        healthCheckPath: "/health",
        autoscaling: { minCount: 2, maxCount: 6 },
    },
    deployment: { strategy: "canary", trafficPercent: 10, intervalMinutes: 5, terminationWaitMinutes: 30 },
    alarms: { periodSeconds: 60, evaluationPeriods: 3, datapointsToAlarm: 2 },
    // ECS-native blue/green: no CodeDeploy application or deployment group.
    trafficControl: "ECS",
    environment,
    namePrefix: `platform-${environment}`,
    clusterArn: cluster.arn,
    clusterName: cluster.clusterName,
    vpcId: network.vpcId,
    privateSubnetIds: each(network.privateSubnetIds, azCount),
    loadBalancerSecurityGroupId: alb.securityGroupId,
    loadBalancerArnSuffix: alb.arnSuffix,
    productionListenerArn: alb.productionListenerArn,
    testListenerArn: alb.testListenerArn,
    notificationTopicArn: notifications.topicArn,
    kmsKeyArn: key.keyArn,
    logRetentionDays: 90,
    secrets: {},
    secretArns: [],
    region,
});

const orders = new rampart.Database("orders", {
    database: { engineVersion: "16", backupRetentionDays: 14, backupWindow: "02:00-03:00" },
    environment,
    identifier: `orders-${environment}`,
    vpcId: network.vpcId,
    privateSubnetIds: each(network.privateSubnetIds, azCount),
    allowedSecurityGroupIds: [api.securityGroupId],
    kmsKeyArn: key.keyArn,
    notificationTopicArn: notifications.topicArn,
    protect: environment === "production",
});

export const url = pulumi.interpolate`https://${alb.dnsName}`;
export const repositoryUrl = api.repositoryUrl;
export const rollbackAlarms = api.alarmNames;
export const databaseEndpoint = orders.endpoint;
