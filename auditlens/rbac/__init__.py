"""Least privilege from the audit log: RBAC objects, a Kubernetes RBAC authorizer, roles generated
from observed use, and access reviews of granted against used access (PCI DSS 7.2.4/7.2.5).

::

    from auditlens.rbac import read_rbac, rbac_requests, generate_rbac, review_access
    policy = read_rbac("rbac-export.yaml")                   # roles and bindings, as exported
    requests = rbac_requests(auditlens.read_k8s_audit(...))   # one row per request and subject
    review = review_access(requests, policy)                  # review.rows, review.subjects

Modules: :mod:`.model` (the objects), :mod:`.load` (reading exports), :mod:`.authorize`
(decisions), :mod:`.requests` (the log's requests), :mod:`.generate` (roles from use),
:mod:`.review` (granted against used).
"""

from .authorize import Authorizer, Request, effective_groups
from .generate import Generated, GenerateOptions, generate_rbac, to_yaml
from .load import read_rbac
from .model import Binding, Grant, Policy, PolicyRule, Role, Subject
from .requests import rbac_requests
from .review import Review, review_access

__all__ = ["Authorizer", "Binding", "GenerateOptions", "Generated", "Grant", "Policy",
           "PolicyRule", "Request", "Review", "Role", "Subject", "effective_groups", "generate_rbac",
           "rbac_requests", "read_rbac", "review_access", "to_yaml"]
