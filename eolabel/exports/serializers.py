from rest_framework import serializers

from eolabel.exports.services import EXPORT_FORMATS


class ExportInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=sorted(EXPORT_FORMATS))
