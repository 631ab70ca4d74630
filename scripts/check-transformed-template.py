"""template.yaml as CloudFormation will see it: transformed offline by aws-sam-translator (no
credentials, no network), then checked for what the deployed stack must have. Part of
`make lint-template`; prints what it checked."""

import json
import sys
from pathlib import Path

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent


class ManagedPolicies:
    """The managed policies SAM may attach, by name: offline, no IAM look-up."""

    def load(self):
        base = "arn:aws:iam::aws:policy/"
        return {
            "AWSLambdaBasicExecutionRole": base + "service-role/AWSLambdaBasicExecutionRole",
            "AWSXrayWriteOnlyAccess": base + "AWSXrayWriteOnlyAccess",
        }


def transformed():
    text = (ROOT / "template.yaml").read_text()
    # SAM wants an S3 location for code it does not build itself.
    text = text.replace("CodeUri: .", "CodeUri: s3://bucket/key")
    return transform(yaml_parse(text), {}, ManagedPolicies())


def fail(message):
    print(f"check-transformed-template: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    t = transformed()
    resources = t["Resources"]
    of_type = lambda kind: {k: v for k, v in resources.items() if v["Type"] == kind}

    # The firewall is on the stage SAM generates.
    stages = of_type("AWS::ApiGateway::Stage")
    associations = of_type("AWS::WAFv2::WebACLAssociation")
    if len(stages) != 1 or len(associations) != 1:
        fail(f"want one stage and one web ACL association, got {list(stages)} {list(associations)}")
    (stage_id,) = stages
    arn = json.dumps(next(iter(associations.values()))["Properties"]["ResourceArn"])
    if "${" + stage_id + "}" not in arn:
        fail(f"the web ACL association is not on {stage_id}: {arn}")
    if "AccessLogSetting" not in stages[stage_id]["Properties"]:
        fail("the stage writes no access log")

    # Users and books survive the stack. (The sessions table holds only revocations that expire
    # within the hour.)
    for rid, protection in [
        ("UserPool", "DeletionProtection"),
        ("BooksTable", "DeletionProtectionEnabled"),
    ]:
        r = resources.get(rid) or fail(f"no {rid}")
        if r.get("DeletionPolicy") != "Retain" or r.get("UpdateReplacePolicy") != "Retain":
            fail(f"{rid} is not retained")
        if protection not in r["Properties"]:
            fail(f"{rid} has no {protection}")

    # No function holds the client secret: at most its ARN, and only the functions that sign in
    # may read it.
    functions = of_type("AWS::Lambda::Function")
    for fid, f in functions.items():
        variables = f["Properties"].get("Environment", {}).get("Variables", {})
        for name, value in variables.items():
            shown = json.dumps(value)
            if name == "COGNITO_CLIENT_SECRET" or "ClientSecret\"" in shown and "GetAtt" in shown:
                fail(f"{fid} gets the client secret in its environment ({name})")
        role = resources[f["Properties"]["Role"]["Fn::GetAtt"][0]]
        policies = json.dumps(role["Properties"].get("Policies", []))
        reads_secret = "secretsmanager:GetSecretValue" in policies
        if reads_secret != ("COGNITO_CLIENT_SECRET_ARN" in variables):
            fail(f"{fid}: GetSecretValue granted={reads_secret}, but it reads the secret="
                 f"{'COGNITO_CLIENT_SECRET_ARN' in variables}")
        if "secretsmanager:*" in policies or '"Resource": "*"' in policies:
            fail(f"{fid}'s role grants too much: {policies}")

    print(
        f"check-transformed-template: {len(resources)} resources; web ACL on {stage_id}, access "
        f"log on; pool and table retained and protected; {len(functions)} functions, none with "
        "the client secret in its environment"
    )


if __name__ == "__main__":
    main()
