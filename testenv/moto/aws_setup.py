"""Creates the AWS side of the test environment inside a fresh moto server.

Run with the moto venv's python (it has boto3):
    aws_setup.py ENDPOINT REGION CLUSTER NODE_ROLE K8S_MINOR

Creates an EKS cluster role, a node role, one EKS cluster in the region's
default VPC and one managed nodegroup, then prints a JSON object with the
cluster's OIDC issuer on stdout. kube-apiserver is started with that issuer
so its service-account tokens carry the issuer AWS reports for the cluster.
"""

import json
import sys

import boto3

EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
EKS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "eks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
# The policies a real EKS node role and cluster role carry; moto ships them
# when MOTO_IAM_LOAD_MANAGED_POLICIES=true.
NODE_POLICIES = [
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
]
CLUSTER_POLICIES = ["AmazonEKSClusterPolicy"]


def make_role(iam, name, trust, policies):
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(trust),
        Description="kfp-iam test environment",
    )["Role"]
    for policy in policies:
        iam.attach_role_policy(
            RoleName=name, PolicyArn="arn:aws:iam::aws:policy/" + policy
        )
    return role["Arn"]


def main():
    endpoint, region, cluster, node_role, k8s_minor = sys.argv[1:6]
    kwargs = {
        "endpoint_url": endpoint,
        "region_name": region,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    iam = boto3.client("iam", **kwargs)
    ec2 = boto3.client("ec2", **kwargs)
    eks = boto3.client("eks", **kwargs)

    # The first IAM call makes moto load the AWS managed policies (about a
    # second); doing it here means the tests never pay for it.
    iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")

    cluster_role_arn = make_role(
        iam, cluster + "-cluster-role", EKS_TRUST, CLUSTER_POLICIES
    )
    node_role_arn = make_role(iam, node_role, EC2_TRUST, NODE_POLICIES)

    # moto creates a default VPC with one subnet per availability zone.
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])
    vpc_id = vpcs["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    subnet_ids = sorted(s["SubnetId"] for s in subnets["Subnets"])[:2]

    eks.create_cluster(
        name=cluster,
        version=k8s_minor,
        roleArn=cluster_role_arn,
        resourcesVpcConfig={"subnetIds": subnet_ids},
    )
    eks.create_nodegroup(
        clusterName=cluster,
        nodegroupName=cluster + "-nodes",
        nodeRole=node_role_arn,
        subnets=subnet_ids,
    )
    described = eks.describe_cluster(name=cluster)["cluster"]
    json.dump(
        {
            "issuer": described["identity"]["oidc"]["issuer"],
            "cluster_arn": described["arn"],
            "node_role_arn": node_role_arn,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
