// Frontend of the mcptrail investigation data source: no build step, the
// modules Grafana provides to plugins (AMD) are all it uses. Queries run in
// the Go backend; this file only registers the data source, interpolates
// dashboard variables in the query fields, and offers a minimal editor.
define(['@grafana/data', '@grafana/runtime', 'react'], function (data, runtime, React) {
  'use strict';
  var h = React.createElement;
  var FIELDS = ['session', 'rule', 'minSeverity'];
  var TYPES = ['sessionGraph', 'findings', 'chainScores'];

  class DataSource extends runtime.DataSourceWithBackend {
    applyTemplateVariables(query, scopedVars) {
      var out = Object.assign({}, query);
      var srv = runtime.getTemplateSrv();
      FIELDS.forEach(function (f) {
        if (typeof out[f] === 'string') {
          out[f] = srv.replace(out[f], scopedVars);
        }
      });
      return out;
    }
    filterQuery(query) {
      return query.queryType !== 'sessionGraph' || !!query.session;
    }
  }

  function QueryEditor(props) {
    var q = props.query;
    function set(field) {
      return function (e) {
        var next = Object.assign({}, q);
        next[field] = e.target.value;
        props.onChange(next);
        props.onRunQuery();
      };
    }
    return h('div', { style: { display: 'flex', gap: '8px' } },
      h('select', { value: q.queryType || 'sessionGraph', onChange: set('queryType') },
        TYPES.map(function (t) { return h('option', { key: t, value: t }, t); })),
      FIELDS.map(function (f) {
        return h('input', { key: f, placeholder: f, value: q[f] || '', onChange: set(f) });
      }));
  }

  function ConfigEditor() {
    return h('p', null, 'Configure this data source by provisioning (deployments/grafana): url, username, database, secureJsonData.password.');
  }

  return {
    plugin: new data.DataSourcePlugin(DataSource).setQueryEditor(QueryEditor).setConfigEditor(ConfigEditor),
  };
});
