/**
 * Well-known token shapes, as data. Each is recognised only where a word starts (after a
 * character that cannot be part of a token), by a prefix and then a sticky, anchored pattern
 * whose quantifiers are bounded or run over one character class with nothing after it that the
 * class could also match: one attempt costs at most the length of the word it is tried on, and a
 * word is tried once, so a whole scan stays linear.
 *
 * Derived from @secretlint/secretlint-rule-preset-recommend 13.1 (its rules need Node 22 and the
 * secretlint runtime, so they are not used as a library) and gitleaks config/gitleaks.toml
 * (rule ids in brackets). Shapes that only match with a service name nearby (gitleaks' "context"
 * rules) are left to the key=value rules in redact.ts, which redact any value of a secret-named key.
 */
export interface SecretShape {
  id: string;
  /** what a word must start with (case-sensitive) for the pattern to be tried */
  prefix: string;
  /** sticky pattern, tried at the word start; the whole match is redacted */
  re: RegExp;
  /** the match must not be followed by one of these characters (the token would be longer) */
  tail?: RegExp;
  /** a generic prefix: only a value with a digit in it is taken for a token */
  digit?: boolean;
}

const ALNUM_ = /[A-Za-z0-9_]/;
const ALNUM_DASH = /[A-Za-z0-9_-]/;

export const SECRET_SHAPES: SecretShape[] = [
  // AWS access key id [aws-access-token]; secretlint-rule-aws
  ...['AKIA', 'ASIA', 'ABIA', 'ACCA', 'AGPA', 'AIDA', 'AROA', 'AIPA', 'ANPA', 'ANVA', 'A3T'].map((p) => ({
    id: 'aws-access-key-id',
    prefix: p,
    re: /(?:A3T[A-Z0-9]|[A-Z]{4})[A-Z0-9]{16}/y,
    tail: /[A-Za-z0-9]/,
  })),
  // GitHub classic and fine-grained tokens [github-pat, github-oauth, github-app-token,
  // github-refresh-token, github-fine-grained-pat]; secretlint-rule-github
  ...['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'].map((p) => ({ id: 'github-token', prefix: p, re: /gh[pousr]_[A-Za-z0-9_]{36,255}/y, tail: ALNUM_ })),
  { id: 'github-fine-grained-pat', prefix: 'github_pat_', re: /github_pat_[A-Za-z0-9_]{22,255}/y, tail: ALNUM_ },
  // GitLab personal access token [gitlab-pat]; secretlint-rule-gitlab
  { id: 'gitlab-pat', prefix: 'glpat-', re: /glpat-[A-Za-z0-9_-]{20,128}/y, tail: ALNUM_DASH },
  // Slack bot/user/app/config tokens [slack-bot-token, slack-user-token, slack-app-token,
  // slack-config-access-token, slack-legacy-*]; secretlint-rule-slack
  ...['xoxb-', 'xoxp-', 'xoxa-', 'xoxo-', 'xoxr-', 'xoxs-', 'xoxe-', 'xoxe.', 'xapp-'].map((p) => ({
    id: 'slack-token',
    prefix: p,
    re: /xo?x[a-z](?:[.-][A-Za-z0-9]{1,80}){1,8}/y,
    tail: ALNUM_DASH,
  })),
  // Stripe secret and restricted keys [stripe-access-token]; secretlint-rule-stripe
  ...['sk_live_', 'sk_test_', 'sk_prod_', 'rk_live_', 'rk_test_', 'rk_prod_'].map((p) => ({
    id: 'stripe-key',
    prefix: p,
    re: /[rs]k_(?:live|test|prod)_[A-Za-z0-9]{10,247}/y,
    tail: /[A-Za-z0-9]/,
  })),
  // Google API key [gcp-api-key]; secretlint-rule-gcp
  { id: 'google-api-key', prefix: 'AIza', re: /AIza[A-Za-z0-9_-]{35}/y, tail: ALNUM_DASH },
  // Google OAuth access token [gcp-... "ya29."]
  { id: 'google-oauth-token', prefix: 'ya29.', re: /ya29\.[A-Za-z0-9_-]{20,2048}/y, tail: ALNUM_DASH },
  // OpenAI / Anthropic style keys [openai-api-key, anthropic-api-key]; secretlint-rule-openai,
  // secretlint-rule-anthropic. The generic "sk-" needs a digit and 20+ characters.
  { id: 'sk-key', prefix: 'sk-', re: /sk-[A-Za-z0-9_-]{20,255}/y, tail: ALNUM_DASH, digit: true },
  // npm access token [npm-access-token]; secretlint-rule-npm
  { id: 'npm-token', prefix: 'npm_', re: /npm_[A-Za-z0-9]{36}/y, tail: ALNUM_ },
  // HashiCorp Vault tokens [vault-service-token, vault-batch-token]; secretlint-rule-hashicorp-vault
  ...['hvs.', 'hvb.', 'hvr.'].map((p) => ({ id: 'vault-token', prefix: p, re: /hv[sbr]\.[A-Za-z0-9_-]{24,300}/y, tail: ALNUM_DASH })),
  // SendGrid [sendgrid-api-token]; secretlint-rule-sendgrid
  { id: 'sendgrid-key', prefix: 'SG.', re: /SG\.[A-Za-z0-9_-]{16,128}\.[A-Za-z0-9_-]{16,128}/y, tail: ALNUM_DASH },
  // Docker Hub PAT [docker-... ]; secretlint-rule-docker
  { id: 'docker-pat', prefix: 'dckr_pat_', re: /dckr_pat_[A-Za-z0-9_-]{20,64}/y, tail: ALNUM_DASH },
  // Shopify [shopify-*]; secretlint-rule-shopify
  ...['shpat_', 'shpca_', 'shppa_', 'shpss_'].map((p) => ({
    id: 'shopify-token',
    prefix: p,
    re: /shp(?:at|ca|pa|ss)_[A-Fa-f0-9]{32,64}/y,
    tail: /[A-Za-z0-9]/,
  })),
  // Grafana [grafana-service-account-token, grafana-cloud-api-token]; secretlint-rule-grafana
  { id: 'grafana-sa-token', prefix: 'glsa_', re: /glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}/y, tail: /[A-Za-z0-9]/ },
  { id: 'grafana-cloud-token', prefix: 'glc_', re: /glc_[A-Za-z0-9+/]{32,400}={0,2}/y, tail: /[A-Za-z0-9+/=]/ },
  // Hugging Face [huggingface-access-token]; Databricks [databricks-api-token]
  { id: 'huggingface-token', prefix: 'hf_', re: /hf_[A-Za-z]{34}/y, tail: /[A-Za-z]/ },
  { id: 'databricks-token', prefix: 'dapi', re: /dapi[a-f0-9]{32}(?:-[0-9])?/y, tail: /[A-Za-z0-9]/ },
  // JSON Web Token [jwt]: header and payload are base64url JSON objects, so both start "ey"
  { id: 'jwt', prefix: 'eyJ', re: /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/y, tail: ALNUM_DASH },
];

/** Private key blocks [private-key]; secretlint-rule-privatekey: redacted from BEGIN to END. */
export const PRIVATE_KEY_BEGIN = '-----BEGIN ';
export const PRIVATE_KEY_HEADER = /-----BEGIN (?:[A-Z0-9]{1,12} ){0,2}PRIVATE KEY(?: BLOCK)?-----/y;
export const PRIVATE_KEY_END = '-----END ';

/** Shapes by first character, so a word start costs one map lookup. */
export const SHAPES_BY_FIRST = new Map<string, SecretShape[]>();
for (const s of SECRET_SHAPES) {
  const first = s.prefix.charAt(0);
  const list = SHAPES_BY_FIRST.get(first) ?? [];
  list.push(s);
  SHAPES_BY_FIRST.set(first, list);
}
