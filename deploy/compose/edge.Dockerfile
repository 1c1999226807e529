# nginx in front of the instances, from the same template scripts/up renders.
FROM careforall-base:local
COPY deploy/nginx/careforall.conf.template /etc/careforall/careforall.conf.template
COPY deploy/compose/edge.sh /usr/local/bin/careforall-edge
ENTRYPOINT ["careforall-edge"]
