#!/usr/bin/env bash
# IRSA for profile namespaces the way people script it today: look up the account and the
# cluster's OIDC issuer once, then for each namespace create a role trusted by that
# namespace's default-editor service account, attach AmazonSageMakerFullAccess, and annotate
# the service account with the role's ARN (the AWS documentation's IRSA steps, in a loop).
#
#   bench/classic-irsa.sh CLUSTER ROLE_PREFIX ROLE_PATH NAMESPACE...
#
# Uses `aws` and `kubectl` from PATH and the environment's AWS and Kubernetes configuration.
# The service accounts must exist (Kubeflow's profile controller creates them).
# KUBECTL_FLAGS (word-split) is passed to kubectl; bench/run sets -v=6 to count its requests.
set -euo pipefail

cluster=$1 prefix=$2 path=$3
shift 3
# shellcheck disable=SC2206 # word splitting wanted
kubectl_flags=(${KUBECTL_FLAGS:-})

account=$(aws sts get-caller-identity --query Account --output text)
issuer=$(aws eks describe-cluster --name "$cluster" --query cluster.identity.oidc.issuer \
	--output text)
issuer=${issuer#https://}

for namespace in "$@"; do
	trust=$(
		cat <<EOF
{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "arn:aws:iam::$account:oidc-provider/$issuer"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringEquals": {
      "$issuer:aud": "sts.amazonaws.com",
      "$issuer:sub": "system:serviceaccount:$namespace:default-editor"
    }}
  }]
}
EOF
	)
	arn=$(aws iam create-role --path "$path" --role-name "$prefix-$namespace" \
		--assume-role-policy-document "$trust" --query Role.Arn --output text)
	aws iam attach-role-policy --role-name "$prefix-$namespace" \
		--policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess
	kubectl "${kubectl_flags[@]}" annotate serviceaccount default-editor -n "$namespace" \
		--overwrite "eks.amazonaws.com/role-arn=$arn" >/dev/null
done
