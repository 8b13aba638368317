"""Event types processing consumes (only the fields it reads) and publishes."""
from marshmallow import fields

from servicekit.events import Catalog, EventSchema

CONSUMES = Catalog("processing")
PUBLISHES = Catalog("processing")


class _Procedure(EventSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    processing_days = fields.Integer(required=True)
    fee_vnd = fields.Integer(required=True)


class _Agency(EventSchema):
    code = fields.String(required=True)


class _Applicant(EventSchema):
    type = fields.String(required=True)
    full_name = fields.String(required=True)


class _Delivery(EventSchema):
    method = fields.String(required=True)


class DossierSubmittedSchema(EventSchema):
    code = fields.String(required=True)
    procedure = fields.Nested(_Procedure, required=True)
    agency = fields.Nested(_Agency, required=True)
    applicant = fields.Nested(_Applicant, required=True)
    delivery = fields.Nested(_Delivery, required=True)
    channel = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True)


CONSUMES.add("dossier.submitted.v1", DossierSubmittedSchema, description="opens a case")


class NotificationSentSchema(EventSchema):
    message_id = fields.String(required=True)
    dossier_code = fields.String(required=True)
    kind = fields.String(required=True)
    channel = fields.String(required=True)


class NotificationFailedSchema(NotificationSentSchema):
    reason = fields.String(required=True)


CONSUMES.add("notification.sent.v1", NotificationSentSchema, description="audit: the citizen was told")
CONSUMES.add("notification.failed.v1", NotificationFailedSchema, description="audit: telling the citizen failed")
