// Evaluates IAM requests against identity policies with @cloud-copilot/iam-simulate, for the IAM contract tests.
//
// stdin:  {"identityPolicies": [policy, ...], "requests": [{"action", "resource", "context": {key: value|[values]}}],
//          "principal"?: ARN, "accountId"?: "123456789012",
//          "policySets"?: [[policy, ...], ...]}  (a request with "policySet": i is decided by that set instead)
// stdout: {"decisions": [{"decision": "Allowed"|"ImplicitlyDenied"|"ExplicitlyDenied"|"Error",
//          "statements": ["policy-1#Sid", ...], "ignoredContextKeys": [...], "error"?: message}]}
// One process answers a whole batch: node's start-up and the library's data load cost more than the evaluations.
import { runSimulation } from '@cloud-copilot/iam-simulate'

const DEFAULT_ACCOUNT = '123456789012'

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

function accountOf(arn, fallback) {
  // arn:partition:service:region:account:resource; IAM/S3 ARNs may leave fields empty.
  const account = typeof arn === 'string' ? arn.split(':')[4] : undefined
  return account && /^\d{12}$/.test(account) ? account : fallback
}

function statementLabel(analysis) {
  const statement = analysis.statement
  const sid = typeof statement?.sid === 'function' ? statement.sid() : undefined
  const index = typeof statement?.index === 'function' ? statement.index() : '?'
  return `${analysis.policyId}#${sid ?? `statement ${index}`}`
}

function decisive(result) {
  const identity = result?.analysis?.identityAnalysis
  if (!identity) return []
  const overall = result.analysis.result
  const chosen = overall === 'ExplicitlyDenied' ? identity.denyStatements
    : overall === 'Allowed' ? identity.allowStatements : []
  return chosen.map(statementLabel)
}

async function evaluateOne(request, policies, principal, defaultAccount) {
  const simulation = {
    identityPolicies: policies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    // KMS keys (and other resource-policy services) decide with their own policy too: the tests pass it.
    ...(request.resourcePolicy ? { resourcePolicy: request.resourcePolicy } : {}),
    request: {
      principal,
      action: request.action,
      resource: { resource: request.resource, accountId: accountOf(request.resource, defaultAccount) },
      contextVariables: request.context ?? {},
    },
  }
  const response = await runSimulation(simulation, {})
  if (response.resultType === 'error') {
    return { decision: 'Error', statements: [], ignoredContextKeys: [], error: response.errors.message,
      details: response.errors }
  }
  if (response.resultType === 'single') {
    return { decision: response.overallResult, statements: decisive(response.result),
      ignoredContextKeys: response.result.ignoredContextKeys ?? [] }
  }
  // A wildcard resource on an action with resource-level permissions: one result per matching pattern.
  return { decision: response.overallResult, statements: response.results.flatMap(decisive),
    ignoredContextKeys: [...new Set(response.results.flatMap((r) => r.ignoredContextKeys ?? []))] }
}

async function main() {
  let input
  try {
    input = JSON.parse(await readStdin())
  } catch (error) {
    process.stderr.write(`evaluate.mjs: stdin: expected one JSON document: ${error.message}\n`)
    process.exit(2)
  }
  if (!Array.isArray(input?.identityPolicies) || !Array.isArray(input?.requests)) {
    process.stderr.write('evaluate.mjs: stdin: expected {"identityPolicies": [...], "requests": [...]}\n')
    process.exit(2)
  }
  const defaultAccount = input.accountId ?? DEFAULT_ACCOUNT
  const principal = input.principal ?? `arn:aws:iam::${defaultAccount}:role/contract-test`
  const named = (set) => set.map((policy, i) => ({ name: `policy-${i + 1}`, policy }))
  const policies = named(input.identityPolicies)
  // Mutation tests decide many variants of one role: one process for all of them, not one per variant.
  const sets = (input.policySets ?? []).map(named)
  const decisions = []
  for (const request of input.requests) {
    const chosen = Number.isInteger(request.policySet) ? sets[request.policySet] : policies
    decisions.push(await evaluateOne(request, chosen, principal, defaultAccount))
  }
  process.stdout.write(JSON.stringify({ decisions }) + '\n')
}

await main()
