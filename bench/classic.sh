#!/usr/bin/env bash
# The classic Kubeflow-on-AWS setup, command for command as the original instructions give it
# (aws-cli v1, jq, base64, kubectl), with the names as parameters so that every benchmark run
# starts from a clean state, plus the third level the instructions leave to the reader: the
# inline policy that grants sagemaker:InvokeEndpoint to the node role.
#
#   bench/classic.sh USER ROLE SECRET NAMESPACE NODE_ROLE NODE_POLICY
#
# Uses `aws` and `kubectl` from PATH (bench/run puts pinned ones first) and the environment's
# AWS and Kubernetes configuration. Prints the execution role ARN, as the instructions do.
# KUBECTL_FLAGS (word-split) is passed to kubectl; bench/run sets -v=6 to count its requests.
set -euo pipefail

user=$1 role=$2 secret=$3 namespace=$4 node_role=$5 node_policy=$6
# The instructions write the key to /tmp/create_output.json; a private file here instead, so
# concurrent runs never share it. Removed at exit, which the instructions never do.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2206 # word splitting wanted
kubectl_flags=(${KUBECTL_FLAGS:-})

aws iam create-user --user-name "$user" >/dev/null
aws iam attach-user-policy --user-name "$user" --policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess
aws iam create-access-key --user-name "$user" >"$work/create_output.json"

# Without jq on the machine, python3 reads the field instead (bench/run reports which was used).
if ! command -v jq >/dev/null; then
	jq() { python3 -c 'import json,sys; k=sys.argv[1].split(".")[1:]; d=json.load(open(sys.argv[2]))
for x in k: d=d[x]
sys.stdout.write(d)' "$2" "$3"; }
fi
AWS_ACCESS_KEY_ID_VALUE=$(jq -j .AccessKey.AccessKeyId "$work/create_output.json" | base64)
AWS_SECRET_ACCESS_KEY_VALUE=$(jq -j .AccessKey.SecretAccessKey "$work/create_output.json" | base64)

cat <<EOF | kubectl "${kubectl_flags[@]}" apply -f - >/dev/null
apiVersion: v1
kind: Secret
metadata:
  name: $secret
  namespace: $namespace
type: Opaque
data:
  AWS_ACCESS_KEY_ID: $AWS_ACCESS_KEY_ID_VALUE
  AWS_SECRET_ACCESS_KEY: $AWS_SECRET_ACCESS_KEY_VALUE
EOF

TRUST="{ \"Version\": \"2012-10-17\", \"Statement\": [ { \"Effect\": \"Allow\", \"Principal\": { \"Service\": \"sagemaker.amazonaws.com\" }, \"Action\": \"sts:AssumeRole\" } ] }"
aws iam create-role --role-name "$role" --assume-role-policy-document "$TRUST" >/dev/null
aws iam attach-role-policy --role-name "$role" --policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess
aws iam attach-role-policy --role-name "$role" --policy-arn arn:aws:iam::aws:policy/AmazonS3FullAccess
aws iam get-role --role-name "$role" --output text --query 'Role.Arn'

# Level 3: the same document kfp-iam puts on each node role.
INVOKE="{ \"Version\": \"2012-10-17\", \"Statement\": [ { \"Sid\": \"KfpIamInvokeEndpoint\", \"Effect\": \"Allow\", \"Action\": \"sagemaker:InvokeEndpoint\", \"Resource\": \"*\" } ] }"
aws iam put-role-policy --role-name "$node_role" --policy-name "$node_policy" --policy-document "$INVOKE"
